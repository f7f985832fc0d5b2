package walletdtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser is a headless Chromium driven by chromedp, for the tests of
// pages a person uses. Ctx runs chromedp actions; Shot keeps screenshots
// in the test's temp dir (and in $WALLETD_TEST_SHOTS when set, to look
// at them).
type Browser struct {
	Ctx context.Context
	tb  testing.TB
	dir string
}

// FindBrowser returns the path of a Chromium or Chrome
// ($WALLETD_TEST_BROWSER, else one on the PATH), or "".
func FindBrowser() string {
	if p := os.Getenv("WALLETD_TEST_BROWSER"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// NewBrowser starts a headless browser for tb, stopped at its cleanup,
// with a fresh profile and the flags this machine's closed network needs
// (no background connections). With no browser installed it skips tb
// with a loud message naming what was not tested (.ci/run installs
// Debian's chromium, so CI never skips).
func NewBrowser(tb testing.TB, what string) *Browser {
	tb.Helper()
	bin := FindBrowser()
	if bin == "" {
		tb.Skip("SKIPPED: NO BROWSER FOUND (install Debian's chromium: apt-get install -y chromium); " + what + " was not tested in a browser")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(tb.TempDir()),
	}
	actx, cancel1 := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel2 := chromedp.NewContext(actx)
	ctx, cancel3 := context.WithTimeout(ctx, 90*time.Second)
	tb.Cleanup(func() { cancel3(); cancel2(); cancel1() })
	return &Browser{Ctx: ctx, tb: tb, dir: tb.TempDir()}
}

// Shot saves a screenshot of the whole page as name.png.
func (b *Browser) Shot(name string) {
	b.tb.Helper()
	buf, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.tb.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(path, buf, 0o600); err != nil {
		b.tb.Fatal(err)
	}
	if d := os.Getenv("WALLETD_TEST_SHOTS"); d != "" {
		os.WriteFile(filepath.Join(d, name+".png"), buf, 0o600)
	}
	b.tb.Logf("screenshot %s", path)
}
