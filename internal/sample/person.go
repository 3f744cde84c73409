package sample

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/idfusion/idfusion/cleanse"
	"github.com/idfusion/idfusion/schemas"
)

var surnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦符方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤单解")
var givenChars = []rune("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国文玉海燕红梅鹏飞志宏春晓亮辉婷雪琳晨宇浩然子涵欣怡思远嘉佳俊峰瑞雅琪博轩梓睿诗一鸣乐天")
var minorityNames = []string{
	"阿卜杜拉·买买提", "热依拉·艾力", "古丽娜尔·吐尔逊", "艾尔肯·吐尔洪", "买买提·依明",
	"迪丽娜尔·阿不都", "努尔兰·哈力克", "扎西·次仁", "阿依古丽·热合曼", "巴特尔·额尔敦",
}

// midDotLookalikes are characters departments' systems put where the middle
// dot of a minority name belongs; cleanse folds them into U+00B7.
var midDotLookalikes = []string{"\u30FB", "\uFF65", "\u2022", "\u2027", "\u22C5", "\u2219", "\u0387", "\uFF0E", "\u2E31", "\u2024", "."}

// person is one generated citizen.
type person struct {
	idx     int
	id      string // canonical 18-char resident ID
	name    string
	variant string // a differently written name some department holds ("" if none)
	male    bool
	birth   time.Time
	phones  [4]string // the phone each department holds
	address string
	depts   uint8 // bit d set: department d holds a row for this person
}

// gen derives everything from one seed, deterministically across runs (no
// maphash: its seed is random per process).
type gen struct {
	seed     uint64
	counties []string
	hainan   []string
}

func newGen(seed uint64) *gen {
	g := &gen{seed: seed, counties: schemas.SampleCounties()}
	for _, c := range g.counties {
		if c[:2] == "46" {
			g.hainan = append(g.hainan, c)
		}
	}
	if len(g.hainan) == 0 {
		g.hainan = g.counties
	}
	return g
}

// rng returns a generator for one (stream, index) pair.
func (g *gen) rng(stream uint64, idx int) *rand.Rand {
	return rand.New(rand.NewPCG(g.seed^stream*0x9E3779B97F4A7C15, uint64(idx)))
}

var epoch = time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC)

// idSpace is how many distinct people the generator can make: 24,820 birth
// days (1940-2007) times 1,000 sequence numbers. 23757 is coprime to it.
const idSpace = 24_820_000

func (g *gen) person(idx int) person {
	r := g.rng(1, idx)
	p := person{idx: idx}
	region := g.counties[r.IntN(len(g.counties))]
	if r.IntN(10) < 7 {
		region = g.hainan[r.IntN(len(g.hainan))]
	}
	if r.IntN(100) == 0 { // a county code retired since the ID was issued
		if old := region[:4] + "99"; !schemas.CountyKnown(old) {
			region = old
		}
	}
	// (birth day, sequence) comes from a bijection of the index, so IDs are
	// unique for up to idSpace people whatever region is drawn.
	u := (uint64(idx)*23757 + 12345) % idSpace
	seq := int(u % 1000)
	p.birth = epoch.AddDate(0, 0, int(u/1000))
	p.male = seq%2 == 1
	first17 := fmt.Sprintf("%s%s%03d", region, p.birth.Format("20060102"), seq)
	p.id = first17 + string(cleanse.IDCheckChar(first17))
	if r.IntN(50) == 0 {
		p.name = minorityNames[r.IntN(len(minorityNames))]
	} else {
		n := 1 + r.IntN(2)
		name := []rune{surnames[r.IntN(len(surnames))]}
		for range n {
			name = append(name, givenChars[r.IntN(len(givenChars))])
		}
		p.name = string(name)
		if r.IntN(40) == 0 { // another department wrote the given name differently
			v := []rune(p.name)
			v[len(v)-1] = givenChars[(indexRune(givenChars, v[len(v)-1])+1)%len(givenChars)]
			p.variant = string(v)
		}
	}
	base := fmt.Sprintf("1%d%09d", 3+r.IntN(7), r.IntN(1_000_000_000))
	for d := range p.phones {
		p.phones[d] = base
		if r.IntN(4) == 0 { // the citizen gave this department another number
			p.phones[d] = fmt.Sprintf("1%d%09d", 3+r.IntN(7), r.IntN(1_000_000_000))
		}
	}
	p.address = fmt.Sprintf("海南省海口市%s路%d号", string(givenChars[r.IntN(len(givenChars))]), 1+r.IntN(300))
	for d, prob := range deptShare {
		if r.Float64() < prob {
			p.depts |= 1 << d
		}
	}
	if p.depts == 0 {
		p.depts = 1
	}
	return p
}

func indexRune(rs []rune, c rune) int {
	for i, x := range rs {
		if x == c {
			return i
		}
	}
	return 0
}

// deptShare is the chance that a person is in department d's records;
// they sum to 1.8 rows per person.
var deptShare = [4]float64{0.7, 0.5, 0.4, 0.2}

// updatedAt is when department d last changed person p's record: distinct
// per department so "newest" is never a tie.
func (g *gen) updatedAt(p person, d int) time.Time {
	r := g.rng(2, p.idx)
	base := time.Date(2015, 1, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))
	off := make([]int, 4)
	for i := range off {
		off[i] = r.IntN(900)*4 + i // distinct days per department, 2015 to 2024
	}
	return base.AddDate(0, 0, off[d]).Add(time.Duration(r.IntN(36000)) * time.Second)
}
