// SPDX-License-Identifier: Apache-2.0

// Command idlerss measures the resident memory of `koban serve`: fresh after
// start, right after a burst of use (sign-ins and page views), and idle
// again after a pause. Run it from the repository root:
//
//	go run ./bench/idlerss [-idle 30s] [-signins 20] [-pages 300]
//
// It builds koban, starts it on 127.0.0.1 with a temporary data directory,
// and reads VmRSS and VmHWM from /proc (Linux only).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func main() {
	idle := flag.Duration("idle", 30*time.Second, "pause before the idle readings")
	signins := flag.Int("signins", 20, "sign-ins in the burst")
	pages := flag.Int("pages", 300, "page views in the burst")
	flag.Parse()
	if err := run(*idle, *signins, *pages); err != nil {
		fmt.Fprintln(os.Stderr, "idlerss:", err)
		os.Exit(1)
	}
}

func run(idle time.Duration, signins, pages int) error {
	tmp, err := os.MkdirTemp("", "koban-idlerss-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "koban")
	build := exec.Command("go", "build", "-o", bin, "./cmd/koban")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	st, _ := os.Stat(bin)
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(tmp, "data"), "--log.level", "warn")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = io.Discard
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }() // the latest cmd: see the restart below
	base, password, err := readStart(out)
	if err != nil {
		return err
	}
	ready := time.Since(start)
	pid := cmd.Process.Pid

	time.Sleep(5 * time.Second)
	fresh := rss(pid)

	c := client(base)
	const pw = "a long benchmark passphrase"
	if err := first(c, base, password, pw); err != nil {
		return err
	}
	t0 := time.Now()
	for i := 0; i < signins; i++ {
		if err := signIn(client(base), base, pw); err != nil {
			return err
		}
	}
	paths := []string{"/", "/settings", "/admin/users", "/admin/audit", "/alerts", "/admin/tokens"}
	for i := 0; i < pages; i++ {
		resp, err := c.Get(base + paths[i%len(paths)])
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("GET %s: %s", paths[i%len(paths)], resp.Status)
		}
	}
	burst := time.Since(t0)
	afterUse := rss(pid)
	time.Sleep(idle)
	idleAgain := rss(pid)

	// A restart on the same data: the everyday case.
	_ = cmd.Process.Signal(os.Interrupt)
	_ = cmd.Wait()
	cmd = exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(tmp, "data"), "--log.level", "warn")
	if out, err = cmd.StdoutPipe(); err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	if _, err := readURL(out); err != nil {
		return err
	}
	time.Sleep(5 * time.Second)
	restarted := rss(cmd.Process.Pid)

	fmt.Printf("machine:      %s/%s, %d CPUs, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	fmt.Printf("binary:       %.1f MB\n", float64(st.Size())/1e6)
	fmt.Printf("ready after:  %s (start to URL printed, fresh data directory)\n", ready.Round(time.Millisecond))
	fmt.Printf("fresh idle:   RSS %s\n", fresh)
	fmt.Printf("burst:        %d sign-ins + %d page views in %s\n", signins, pages, burst.Round(time.Millisecond))
	fmt.Printf("after burst:  RSS %s\n", afterUse)
	fmt.Printf("idle %s:    RSS %s\n", idle, idleAgain)
	fmt.Printf("restarted:    RSS %s (5 s after a restart on the same data)\n", restarted)
	return nil
}

var (
	urlRe = regexp.MustCompile(`is running at (http://[0-9.:]+)/`)
	pwRe  = regexp.MustCompile(`^    ([A-Za-z0-9-]{23})$`)
)

func readURL(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if m := urlRe.FindStringSubmatch(sc.Text()); m != nil {
			go func() { _, _ = io.Copy(io.Discard, r) }()
			return m[1], nil
		}
	}
	return "", fmt.Errorf("koban printed no URL")
}

func readStart(r io.Reader) (string, string, error) {
	sc := bufio.NewScanner(r)
	base := ""
	for sc.Scan() {
		if m := urlRe.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
		}
		if m := pwRe.FindStringSubmatch(sc.Text()); m != nil {
			go func() { _, _ = io.Copy(io.Discard, r) }()
			return base, m[1], nil
		}
	}
	return "", "", fmt.Errorf("koban printed no URL and password")
}

type mem struct{ rss, hwm int }

func (m mem) String() string {
	return fmt.Sprintf("%.1f MB (peak so far %.1f MB)", float64(m.rss)/1024, float64(m.hwm)/1024)
}

// rss reads VmRSS and VmHWM (kB) of pid.
func rss(pid int) mem {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return mem{}
	}
	var m mem
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "VmRSS:":
			m.rss = n
		case "VmHWM:":
			m.hwm = n
		}
	}
	return m
}

func client(string) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

func first(c *http.Client, base, onetime, pw string) error {
	if err := signIn(c, base, onetime); err != nil {
		return err
	}
	resp, err := c.PostForm(base+"/settings/password", url.Values{"current_password": {onetime}, "new_password": {pw}, "confirm_password": {pw}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("change password: %s", resp.Status)
	}
	return nil
}

func signIn(c *http.Client, base, pw string) error {
	resp, err := c.PostForm(base+"/signin", url.Values{"name": {"admin"}, "password": {pw}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("sign in: %s", resp.Status)
	}
	return nil
}
