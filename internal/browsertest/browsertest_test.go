package browsertest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
)

// serve serves one HTML page at the root of a test server and returns its URL.
func serve(t *testing.T, html string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(html))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

const formPage = `<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>登录</title></head>
<body>
<h1>登录</h1>
<form onsubmit="return false">
  <input id="name" name="name" autocomplete="off">
  <button id="go" type="button"
    onclick="document.getElementById('greeting').textContent = '你好，' + document.getElementById('name').value">确定</button>
</form>
<p id="greeting">请输入姓名</p>
</body>
</html>`

func TestFormOnPhone(t *testing.T) {
	t.Parallel()
	url := serve(t, formPage)
	ctx := New(t)

	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	heading, err := Text(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("登录", heading); diff != "" {
		t.Errorf("heading mismatch (-want +got):\n%s", diff)
	}

	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#name"), "张三"),
		chromedp.Click(chromedp.CSS("#go"), chromedp.NodeVisible),
	); err != nil {
		t.Fatalf("fill and click: %v", err)
	}
	greeting, err := Text(ctx, "#greeting")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("你好，张三", greeting); diff != "" {
		t.Errorf("greeting mismatch (-want +got):\n%s", diff)
	}

	width, err := chromedp.Run(ctx, chromedp.Evaluate[int]("window.innerWidth"))
	if err != nil {
		t.Fatalf("window.innerWidth: %v", err)
	}
	if width != PhoneWidth {
		t.Errorf("window.innerWidth = %d, want %d (a phone)", width, PhoneWidth)
	}

	if errs := ConsoleErrors(ctx); errs != nil {
		t.Errorf("console errors on a clean page: %q", errs)
	}
}

func TestConsoleErrors(t *testing.T) {
	t.Parallel()
	url := serve(t, `<!doctype html><meta charset="utf-8">
<p>出错的页面</p>
<script>console.error("bad", 42);</script>
<script>throw new Error("boom");</script>`)
	ctx := New(t)

	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	// The listener sees each event before the reply of the command that
	// follows it, and the scripts run before the load that Navigate waits for.
	errs := ConsoleErrors(ctx)
	if len(errs) != 2 {
		t.Fatalf("ConsoleErrors = %q, want 2 errors", errs)
	}
	for i, want := range []string{"console.error: bad 42 (" + url, "Uncaught Error: boom (" + url} {
		if !strings.HasPrefix(errs[i], want) {
			t.Errorf("ConsoleErrors[%d] = %q, want prefix %q", i, errs[i], want)
		}
	}
}

// TestNoBrowser checks the message a machine without a browser gets: it must
// say how to install one. It sets the environment, so it cannot be parallel.
func TestNoBrowser(t *testing.T) {
	t.Setenv("CHROMIUM_PATH", "/nonexistent/chromium")
	_, err := findBrowser()
	if err == nil {
		t.Fatal("findBrowser with a missing CHROMIUM_PATH: no error")
	}
	for _, want := range []string{"/nonexistent/chromium", "apt-get install chromium", "CHROMIUM_PATH"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
