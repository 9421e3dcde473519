package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// profiledScenario is the run whose services are profiled with -profile:
// the whole pipeline at its maximum rate.
const profiledScenario = "max-256"

// startProfiles takes a CPU profile of the ingester and the router through
// their --pprof endpoints while a scenario runs, and writes them into dir.
// The returned wait blocks until both are written and reports failures.
func startProfiles(dir string, services map[string]string, scenario time.Duration) (wait func() error) {
	// Skip the first second (streams opening), stop before the load does.
	seconds := max(int((scenario-2*time.Second)/time.Second), 1)
	var wg sync.WaitGroup
	errs := make(chan error, len(services))
	for name, httpAddr := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Second)
			path := filepath.Join(dir, fmt.Sprintf("%s-%s.pprof", name, profiledScenario))
			if err := fetchProfile(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", httpAddr, seconds), path, time.Duration(seconds+30)*time.Second); err != nil {
				errs <- fmt.Errorf("profile of the %s: %w", name, err)
				return
			}
			logf("  wrote %s (go tool pprof -top %s)", path, path)
		}()
	}
	return func() error {
		wg.Wait()
		close(errs)
		return <-errs
	}
}

func fetchProfile(url, path string, timeout time.Duration) error {
	client := &http.Client{Timeout: timeout}
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
