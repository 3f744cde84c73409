#!/usr/bin/env python3
# Drives a real oauth2-proxy in front of `authsvc --dev` as a browser would:
# the sign-in of a fused citizen (ID number and phone from a `fusion gen`
# sample's truth_accounts.csv, imported with `fusion import`) through the
# SMS login and ① ② ③ (the face simulator approving), back at the proxied
# system, the proxy's userinfo, and its sign-out. Prints each step.
#
#   go install github.com/oauth2-proxy/oauth2-proxy/v7@v7.15.6
#   bin/authsvc client add --data-dir D --id wiki --redirect-uri http://127.0.0.1:4180/oauth2/callback \
#       --scope profile --scope email --scope offline_access --email-claim sub --pkce-optional
#   bin/authsvc --data-dir D --dev --addr 127.0.0.1:18080 &
#   oauth2-proxy --provider=oidc --oidc-issuer-url=http://127.0.0.1:18080/oidc --client-id=wiki \
#       --client-secret=SECRET --redirect-url=http://127.0.0.1:4180/oauth2/callback --email-domain='*' \
#       --cookie-secret=RANDOM32 --cookie-secure=false --http-address=127.0.0.1:4180 --upstream=static://200 &
#   scripts/oauth2-proxy-check.py ID_NUMBER PHONE
import http.cookiejar, json, re, sys, urllib.request, urllib.parse
ID, PHONE = sys.argv[1], sys.argv[2]
A, P = "http://127.0.0.1:18080", "http://127.0.0.1:4180"
class LoopbackPolicy(http.cookiejar.DefaultCookiePolicy):
    # Browsers treat http://127.0.0.1 as a secure context for Secure cookies.
    def return_ok_secure(self, cookie, request): return True
    def set_ok(self, cookie, request): return True
jar = http.cookiejar.CookieJar(LoopbackPolicy())
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k): return None
plain = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
def get(url):
    try:
        r = plain.open(url); return r.status, r.headers.get("Location"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Location"), e.read().decode()
def follow(url, stop=lambda u: False):
    while True:
        st, loc, body = get(url)
        if st in (301, 302, 303, 307) and loc:
            url = urllib.parse.urljoin(url, loc)
            if stop(url): return url
            continue
        return url, st, body
def post(path, obj, form=False):
    data = urllib.parse.urlencode(obj).encode() if form else json.dumps(obj).encode()
    req = urllib.request.Request(A + path, data=data, headers={"Content-Type": "application/x-www-form-urlencoded" if form else "application/json"})
    try:
        r = plain.open(req); return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
login = follow(P + "/oauth2/start?rd=/", stop=lambda u: urllib.parse.urlparse(u).path == "/login")
if isinstance(login, tuple): sys.exit("did not reach the login: %s %s %s" % (login[0], login[1], login[2][-300:]))
print("1 oauth2-proxy → provider login:", login[:90], "...")
rid = urllib.parse.parse_qs(urllib.parse.urlparse(login).query)["return_to"][0]
print("2 send code:", post("/api/v1/login/sms/send", {"id_number": ID, "phone": PHONE})[0])
_, _, outbox = get(A + "/dev/sms")
code = re.search(r'class="body">[^<]*?(\d{6})', outbox).group(1)
st, body = post("/api/v1/login/sms", {"id_number": ID, "phone": PHONE, "code": code}); print("3 SMS login:", st, body[:80])
st, body = post("/api/v1/completion/info", {"address": "海口市龙华区滨海大道1号"}); print("4 ① info:", st, body[:80])
st, body = post("/api/v1/completion/password", {"password": "K9#vTq2!mZ", "confirm": "K9#vTq2!mZ"}); print("5 ② password:", st, body[:80])
st, body = post("/api/v1/completion/face", {}); ch = json.loads(body)["challenge"]; print("6 ③ face start:", st)
st, _ = post("/dev/face/" + ch, {"id_number": ID, "verdict": "pass"}, form=True); print("7 simulator approves:", st)
st, _, body = get(A + "/api/v1/completion/face/" + ch); print("8 ③ done:", st, body[:80])
url, st, body = follow(urllib.parse.urljoin(A, rid))
print("9 back at the business system:", url, st, repr(body[:40]))
st, _, body = get(P + "/oauth2/userinfo"); print("10 oauth2-proxy userinfo:", st, body)
url, st, body = follow(P + "/oauth2/sign_out")
print("11 oauth2-proxy sign_out:", url, st)
st, _, _ = get(P + "/"); print("12 business system after sign-out:", st)
