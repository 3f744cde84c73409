package main

// The common Chinese patterns, written here rather than taken from a
// leak: pinyin is what Chinese passwords are made of, and a list of
// leaked passwords from elsewhere has little of it. A word of fewer than
// commonpw.MinStem letters only counts beside guessable numbers (see
// commonpw.List.IsCommon), so short ones are safe here.

// lovePinyin are the love words and their pinyin phrases (我爱你 woaini).
var lovePinyin = []string{
	"woaini", "aini", "woaini1314", "woaini520", "aiwo", "niaiwo", "woainia", "wohenaini", "wozhiaini",
	"woaininia", "woainimen", "woxihuanni", "xihuanni", "xiangni", "woxiangni", "yongyuanaini",
	"yishengyishi", "yibeizi", "zhiai", "zuiai", "qinai", "qinaide", "aiqing", "baobei", "baobao",
	"xiaobaobei", "laopo", "laogong", "woainilaopo", "woainilaogong", "laopowoaini", "laogongwoaini",
	"woaiwojia", "woaiwoma", "woaiwoba", "woaibaba", "woaimama", "woaizhongguo", "woaihainan",
	"aiwojia", "xiaobao", "mylove", "loveme", "iloveu", "iloveyou", "loveyou", "lovelove",
}

// loveNumbers are the numbers said like love words (5201314 我爱你一生一世,
// 1314520 一生一世我爱你, 7758521 亲亲我吧我爱你, 584520 我发誓我爱你), lucky
// numbers (168 一路发, 518 我要发) and the emergency numbers.
var loveNumbers = []string{
	"520", "521", "1314", "5201314", "1314520", "5211314", "1314521", "52013140", "13145200",
	"5201314520", "1314520520", "3344520", "3344521", "584520", "7758521", "7758258", "1314920",
	"168", "518", "1688", "5188", "16888", "168888", "518888", "666888", "888666", "888999",
	"110", "119", "120", "110120", "110119", "119110", "12315", "12345",
}

// keypadNumbers are walks on a phone's or a calculator's keypad and
// well-known constants (31415926, 112358).
var keypadNumbers = []string{
	"147258369", "147258", "258369", "369258", "963852741", "741852963", "741852", "852963",
	"963852", "159357", "159753", "357159", "753951", "951753", "159951", "357951", "147369",
	"789456123", "789456", "456123", "123789", "147852", "147852369", "369852147", "1472583690",
	"123654", "123654789", "321654987", "987654321", "147896", "963258", "258456", "2580",
	"31415926", "314159", "3141592653", "112358", "11235813", "1314159",
}

// prefixes are the letters people put before digits to meet a letter rule
// (qq123456, abc123456, aa123456, a5201314): short, so counted beside
// guessable numbers only.
var prefixes = []string{
	"a", "aa", "aaa", "aaaa", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh", "q", "qq", "qqq",
	"qqqq", "w", "ww", "www", "z", "zz", "zzz", "s", "l", "x", "xx", "xxx", "wo", "my", "abcabc",
	"aabbcc", "abab", "asdasd", "qweqwe", "zxczxc", "qwqw", "a1b2c3", "a1b2c3d4", "1a2b3c", "1a2b3c4d",
}

// hainanPlaces are the province's place names: its cities and counties,
// districts, islands, sights and the free trade port (自贸港).
var hainanPlaces = []string{
	"hainan", "hainansheng", "hainandao", "qiong", "qiongzhou", "hn", "haikou", "haikoushi", "sanya",
	"sanyashi", "sansha", "sanshashi", "danzhou", "qionghai", "wenchang", "wanning", "dongfang",
	"wuzhishan", "lingshui", "baoting", "qiongzhong", "baisha", "changjiang", "ledong", "tunchang",
	"chengmai", "lingao", "dingan", "yangpu", "xisha", "nansha", "zhongsha", "boao", "meilan",
	"longhua", "xiuying", "qiongshan", "jiyang", "tianya", "haitang", "yazhou", "yalongwan",
	"sanyawan", "dadonghai", "haijiao", "tianyahaijiao", "nanshan", "luhuitou", "wuzhizhou",
	"haikouwan", "nandu", "nandujiang", "wanquanhe", "jianfengling", "yelin", "ziyougang",
	"zimaogang", "hainanzimaogang", "hainanziyoumaoyigang", "ziyoumaoyigang", "guojiluyoudao",
}

// systemWords are the words of the province's systems and their
// administrators' defaults: government service (政务), the unified
// identity authentication (统一身份认证), the Hainan service app (海易办).
var systemWords = []string{
	"zhengwu", "zhengwufuwu", "zwfw", "hainanzhengwu", "hnzw", "zhengfu", "hainanzhengfu", "gov", "govcn",
	"hainangov", "hngov", "admin", "administrator", "sysadmin", "system", "root", "user", "guest",
	"manager", "xitong", "guanli", "guanliyuan", "yonghu", "yonghuming", "ceshi", "test", "demo",
	"mima", "mimamima", "wodemima", "mimashi", "denglu", "zhanghao", "tongyi", "renzheng",
	"tongyirenzheng", "tyrz", "shenfen", "shenfenzheng", "sfz", "tongyishenfenrenzheng", "tysfrz",
	"yiwangtongban", "haiyiban", "hainanhaiyiban", "bangong", "bangongshi", "danwei", "caiwu",
	"renshe", "shebao", "yibao", "gongjijin", "gongan", "huzheng", "jiaoyu", "weijian", "shuiwu",
	"zhongxin", "xinxi", "xinxizhongxin", "jishu", "anquan", "fuwu", "kefu", "zhuce", "tiyan",
}

// brands are the vendors whose default passwords and names people reuse.
var brands = []string{
	"huawei", "xiaomi", "baidu", "taobao", "alibaba", "tencent", "weixin", "wechat", "zhifubao",
	"alipay", "jingdong", "meituan", "douyin", "sangfor", "h3c", "ruijie", "lenovo", "lianxiang",
	"zte", "zhongxing", "haier", "gree", "geli", "oppo", "vivo", "honor", "rongyao", "china",
	"chinese", "chinanet", "chinaunicom", "chinamobile", "yidong", "liantong", "dianxin",
}

// pinyinWords are common words and names in pinyin: greetings, family,
// wishes, places, pets and the doubled names of children.
var pinyinWords = []string{
	"nihao", "nihaoma", "xiexie", "zaijian", "haha", "hahaha", "hehe", "hehehe", "heihei", "xixi",
	"wocao", "caonima", "shabi", "nima", "tamade", "niubi", "diaosi", "jiayou", "kuaile", "xingfu",
	"pingan", "jiankang", "shengri", "shengrikuaile", "xinnian", "xinniankuaile", "gongxifacai",
	"wanshiruyi", "zhongguo", "zhonghua", "zhongguoren", "beijing", "shanghai", "guangzhou",
	"shenzhen", "nanjing", "tianjin", "chongqing", "hangzhou", "wuhan", "chengdu", "guangdong",
	"guangxi", "fujian", "dongbei", "huanan", "baba", "mama", "gege", "jiejie", "didi", "meimei",
	"yeye", "nainai", "xiaobai", "xiaohei", "xiaohua", "xiaoming", "xiaohong", "xiaoli", "xiaowang",
	"xiaozhang", "xiaoyu", "xiaoyan", "xiaolong", "xiaoqiang", "xiaopang", "xiaoxiao", "laowang",
	"laoban", "meinv", "shuaige", "tianshi", "xiaotianshi", "wanmei", "mengxiang", "weilai",
	"qingchun", "yongqi", "ziyou", "pengyou", "haopengyou", "xiongdi", "jiemei", "jiaren",
	"mingtian", "jintian", "shijie", "taiyang", "yueliang", "xingxing", "tiankong", "dahai",
	"haiyang", "lanse", "kafei", "pingguo", "woshishui", "wobuzhidao", "buzhidao", "dearbook",
	"wangcai", "xiaogou", "xiaomao", "maomao", "gougou", "doudou", "beibei", "niuniu", "pipi",
	"tiantian", "huanhuan", "dongdong", "mingming", "lili", "tingting", "jingjing", "yangyang",
	"feifei", "lele", "haohao", "yuanyuan", "lingling", "huihui", "chenchen", "wangwang", "yiyi",
	"qianqian", "dandan", "fangfang", "jiajia", "xinxin", "yuyu", "nana", "lulu", "yaya", "kaikai",
}

// surnames are the commonest surnames in pinyin, with those frequent in
// Hainan (符 fu, 云 yun, 邢 xing, 吉 ji): zhang123456 and wang@2024.
var surnames = []string{
	"wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu", "sun", "ma",
	"zhu", "hu", "guo", "he", "lin", "gao", "luo", "zheng", "liang", "xie", "song", "tang", "han",
	"feng", "deng", "cao", "peng", "zeng", "xiao", "tian", "dong", "pan", "yuan", "cai", "jiang",
	"yu", "du", "ye", "cheng", "wei", "su", "lu", "ding", "ren", "yao", "shen", "zhong", "cui",
	"tan", "fan", "liao", "shi", "jin", "jia", "xia", "fu", "fang", "zou", "xiong", "bai", "meng",
	"qin", "qiu", "hou", "yin", "xue", "yan", "duan", "lei", "long", "tao", "mao", "hao", "gu",
	"gong", "shao", "wan", "qian", "lai", "kang", "yun", "xing", "ji", "ke", "wen", "mo", "ou",
}

// fullNames are the commonest full names in pinyin (张伟, 王伟, 王芳, 李娜…).
var fullNames = []string{
	"zhangwei", "wangwei", "wangfang", "liwei", "lina", "zhangmin", "lijing", "wangjing", "liuwei",
	"wangxiuying", "zhangli", "lixiuying", "wangli", "zhangjing", "zhangxiuying", "liqiang",
	"wangmin", "limin", "wanglei", "liuyang", "wangyan", "wangyong", "lijun", "zhangyong", "lijie",
	"zhangjie", "zhanglei", "wangqiang", "lijuan", "wangjun", "zhangyan", "zhangtao", "wangtao",
	"liyan", "wangchao", "liming", "liyong", "wangjuan", "liujie", "liumin", "lixia", "zhangjun",
	"wangjie", "zhangqiang", "wangxiulan", "wanggang", "wangping", "liufang", "liuyan", "liujun",
	"lixiulan", "zhangxiulan",
}
