// Package browsertest gives end-to-end tests a headless Chromium of their own,
// sized like a phone, to drive the login pages with chromedp.
//
// A test asks for a browser with New and drives it with chromedp:
//
//	func TestLogin(t *testing.T) {
//		t.Parallel()
//		ctx := browsertest.New(t)
//		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/login")); err != nil {
//			t.Fatal(err)
//		}
//		got, err := browsertest.Text(ctx, "h1")
//		…
//	}
//
// The browser is the one at CHROMIUM_PATH if that is set, otherwise the first
// of /usr/bin/chromium, /usr/bin/chromium-browser and /usr/bin/google-chrome
// that exists. There is no silent skip: without a browser the test fails and
// says how to install one (`apt-get install chromium` on Debian/Ubuntu).
//
// When a test fails, New's cleanup saves a full-page screenshot, and logs the
// console errors of the page and the browser's own output, so a failure in CI
// can be read without rerunning it. Screenshots go to BROWSERTEST_ARTIFACTS if
// that is set (CI can keep that folder), otherwise to the test's temporary
// folder.
package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The viewport of every browser: the CSS size of a common phone (iPhone 12
// to 15), because the login pages are used on phones first.
const (
	PhoneWidth  = 390
	PhoneHeight = 844
)

// timeout bounds the whole life of one test's browser, so that a hung browser
// fails its test rather than the test binary's 10-minute run.
const timeout = 2 * time.Minute

// screenshotTimeout bounds the screenshot taken after a failure, which may be
// a failure of a browser that no longer answers.
const screenshotTimeout = 10 * time.Second

// candidates are the browser binaries looked for when CHROMIUM_PATH is unset,
// in order: Debian's chromium, the older Debian/Ubuntu name, Google's Chrome.
var candidates = []string{
	"/usr/bin/chromium",
	"/usr/bin/chromium-browser",
	"/usr/bin/google-chrome",
}

const installHint = "install Chromium with `apt-get install chromium` (Debian/Ubuntu; `.ci/run` does this), " +
	"or set CHROMIUM_PATH to a Chromium or Chrome binary"

// stateKey is the context key of a browser's *state.
type stateKey struct{}

// state is what New keeps about one browser for the helpers.
type state struct {
	mu            sync.Mutex
	consoleErrors []string
}

func (s *state) addConsoleError(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.consoleErrors = append(s.consoleErrors, msg)
}

// New starts a headless Chromium for t, with one tab whose viewport is
// PhoneWidth×PhoneHeight, and returns the chromedp context of that tab. The
// browser is closed when the test ends, and killed after two minutes if the
// test has not ended by then. New fails the test if no browser is installed
// or it does not start.
//
// Options in extra are added after the defaults, so they can override them:
// a test server with a self-signed certificate needs
// chromedp.Flag("ignore-certificate-errors", true).
func New(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	execPath, err := findBrowser()
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		// Already among the defaults; repeated because the tests rely on them.
		chromedp.Headless,
		chromedp.DisableGPU,
		// Containers often get a 64 MB /dev/shm, too small for Chromium's
		// shared memory; keep it in the temporary folder instead.
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(PhoneWidth, PhoneHeight),
	)
	if os.Geteuid() == 0 {
		// Chromium refuses to start its sandbox as root ("Running as root
		// without --no-sandbox is not supported"), and CI runs as root.
		opts = append(opts, chromedp.NoSandbox)
	}
	opts = append(opts, extra...)
	output := new(syncBuffer)
	opts = append(opts, chromedp.CombinedOutput(output))

	st := new(state)
	timeoutCtx, cancelTimeout := context.WithTimeout(context.Background(), timeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(timeoutCtx, opts...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithListener(func(ev any) {
		// This runs in the loop that reads the tab's messages: no commands here.
		if msg, ok := consoleError(ev); ok {
			st.addConsoleError(msg)
		}
	}))
	ctx := context.WithValue(tabCtx, stateKey{}, st)
	closeBrowser := func() {
		cancelTab()
		cancelAlloc() // waits for the browser process to exit
		cancelTimeout()
	}

	// Start the browser now, so that a browser that cannot start fails here,
	// with its output, rather than in the test's first action.
	if err := chromedp.Do(ctx, phone()); err != nil {
		closeBrowser()
		t.Fatalf("browsertest: starting %s: %v\nbrowser output:\n%s", execPath, err, output.String())
	}

	t.Cleanup(func() {
		if t.Failed() {
			Screenshot(t, ctx, "failure")
			if errs := ConsoleErrors(ctx); len(errs) > 0 {
				t.Logf("browser console errors:\n%s", strings.Join(errs, "\n"))
			}
			if out := output.String(); out != "" {
				t.Logf("browser output:\n%s", out)
			}
		}
		closeBrowser()
	})
	return ctx
}

// phone makes the tab's viewport a phone's. The window-size flag alone is not
// enough: Chromium keeps a window at least 500 CSS pixels wide, so the page
// would see window.innerWidth = 500. Device emulation has no such floor, and
// with Mobile set the page's <meta name="viewport"> is honoured as on a phone
// (a page without one is laid out 980 pixels wide and shrunk, as a phone
// would). Touch is on, so the page sees a touch screen. The scale factor stays
// 1 to keep screenshots small; it changes no layout.
func phone() chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(PhoneWidth, PhoneHeight,
		chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch)
}

// findBrowser returns the browser binary to run: CHROMIUM_PATH, or the first
// candidate that exists.
func findBrowser() (string, error) {
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("CHROMIUM_PATH=%s: %w; %s", p, err, installHint)
		}
		return p, nil
	}
	for _, p := range candidates {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no Chromium found (looked for %s); %s", strings.Join(candidates, ", "), installHint)
}

// Text returns the visible text of the first element that matches the CSS
// selector sel, once that element is visible.
func Text(ctx context.Context, sel string) (string, error) {
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		return "", fmt.Errorf("text of %q: %w", sel, err)
	}
	return text, nil
}

// Screenshot saves a full-page PNG of the tab of ctx as <test>-<name>.png in
// BROWSERTEST_ARTIFACTS, or in t.TempDir() if that is unset, and logs its
// path. A screenshot that cannot be taken is logged, not failed, so that it
// never hides the failure it was taken for.
func Screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("BROWSERTEST_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("browsertest: screenshot %q: %v", name, err)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, screenshotTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100 is PNG; less is JPEG
	if err != nil {
		t.Logf("browsertest: screenshot %q: %v", name, err)
		return
	}
	path := filepath.Join(dir, fileName(t.Name()+"-"+name)+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Logf("browsertest: screenshot %q: %v", name, err)
		return
	}
	t.Logf("browsertest: screenshot %s", path)
}

// fileName makes s safe as a file name: subtest names hold slashes and
// anything else the test author typed.
func fileName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		default:
			return '_'
		}
	}, s)
}

// ConsoleErrors returns the uncaught exceptions and console.error calls of
// the pages loaded so far in the tab of ctx, oldest first, each with where it
// happened. It returns nil for a context that New did not make.
func ConsoleErrors(ctx context.Context) []string {
	st, ok := ctx.Value(stateKey{}).(*state)
	if !ok {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.consoleErrors) == 0 {
		return nil
	}
	return append([]string(nil), st.consoleErrors...)
}

// consoleError turns an uncaught exception or a console.error call into one
// line; ok is false for any other event.
func consoleError(ev any) (msg string, ok bool) {
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		if d == nil {
			return "exception", true
		}
		text := d.Text // "Uncaught", or the message of a non-Error throw
		if d.Exception != nil && d.Exception.Description != "" {
			// The description of an Error is its stack; the first line names it.
			first, _, _ := strings.Cut(d.Exception.Description, "\n")
			text += " " + first
		}
		return withPlace(text, d.URL, d.LineNumber, d.ColumnNumber), true
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError {
			return "", false
		}
		args := make([]string, 0, len(ev.Args))
		for _, a := range ev.Args {
			args = append(args, remoteValue(a))
		}
		text := "console.error: " + strings.Join(args, " ")
		if st := ev.StackTrace; st != nil && len(st.CallFrames) > 0 {
			f := st.CallFrames[0]
			return withPlace(text, f.URL, f.LineNumber, f.ColumnNumber), true
		}
		return text, true
	}
	return "", false
}

// withPlace appends "(url:line:column)", with the protocol's 0-based line
// and column made 1-based as editors count them.
func withPlace(text, url string, line, column int64) string {
	if url == "" {
		return text
	}
	return fmt.Sprintf("%s (%s:%d:%d)", text, url, line+1, column+1)
}

// remoteValue renders one console argument: a string as it is, anything else
// by its description or its JSON value.
func remoteValue(o *runtime.RemoteObject) string {
	switch {
	case o == nil:
		return "null"
	case o.Type == runtime.RemoteObjectTypeString && len(o.Value) > 0:
		var s string
		if err := json.Unmarshal(o.Value, &s); err == nil {
			return s
		}
	case o.UnserializableValue != "":
		return string(o.UnserializableValue)
	case o.Description != "":
		return o.Description
	}
	if len(o.Value) > 0 {
		return string(o.Value)
	}
	return string(o.Type)
}

// syncBuffer is a bytes.Buffer that the browser's output goroutine can write
// while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
