// Command bench supports bench.sh, which times deployctl publish-frontend
// against aws s3 sync --delete on the same local S3 server. It is not a
// test and nothing runs it but the script.
//
//	bench gen -dir DIR [-files N] [-seed S]   write a dist of hashed files
//	bench serve -buckets A,B -env FILE        run a local S3 and CloudFront
package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/experts/platform/stacks/publish/publishtest"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench gen|serve [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "serve":
		err = serve(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// kind is one family of build output files with a typical size.
type kind struct {
	dir, prefix, ext string
	share            float64 // of all files
	median           float64 // bytes
	text             bool
}

// kinds approximate a large single-page app's dist: hashed JS chunks with
// source maps, CSS, images, fonts; HTML pages and a few entry files are
// added separately.
var kinds = []kind{
	{"assets", "chunk", ".js", 0.36, 12 << 10, true},
	{"assets", "chunk", ".js.map", 0.24, 40 << 10, true},
	{"assets", "style", ".css", 0.06, 6 << 10, true},
	{"assets/img", "img", ".png", 0.12, 24 << 10, false},
	{"assets/img", "photo", ".webp", 0.08, 40 << 10, false},
	{"assets/img", "icon", ".svg", 0.08, 2 << 10, true},
	{"assets/fonts", "font", ".woff2", 0.03, 30 << 10, false},
}

func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory to create")
	files := fs.Int("files", 1000, "number of files")
	seed := fs.Uint64("seed", 1, "random seed (same seed, same dist)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("gen: -dir is required")
	}
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], *seed)
	src := rand.NewChaCha8(key)
	rng := rand.New(src) //nolint:gosec // benchmark data, not secrets
	write := func(key string, body []byte) error {
		p := filepath.Join(*dir, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			return fmt.Errorf("gen: %w", err)
		}
		if err := os.WriteFile(p, body, 0o600); err != nil {
			return fmt.Errorf("gen: %w", err)
		}
		return nil
	}
	fixed := map[string][]byte{
		"index.html":           page(rng, src, "home"),
		"favicon.ico":          noise(rng, src, 4<<10, false),
		"robots.txt":           []byte("User-agent: *\nAllow: /\n"),
		"manifest.webmanifest": []byte(`{"name":"experts","start_url":"/"}`),
		"sw.js":                noise(rng, src, 3<<10, true),
	}
	pages := 30
	for i := range pages - 1 {
		fixed[fmt.Sprintf("docs/page-%02d/index.html", i)] = page(rng, src, fmt.Sprint(i))
	}
	for key, body := range fixed {
		if err := write(key, body); err != nil {
			return err
		}
	}
	left := *files - len(fixed)
	var total int64
	for i, k := range kinds {
		n := int(math.Round(k.share * float64(*files-len(fixed))))
		if i == len(kinds)-1 {
			n = left
		}
		left -= n
		for j := range n {
			size := int(k.median * math.Exp(rng.NormFloat64()*0.9)) // log-normal
			size = max(64, min(size, 1<<20))
			body := noise(rng, src, size, k.text)
			sum := sha256.Sum256(body)
			key := fmt.Sprintf("%s/%s%d-%s%s", k.dir, k.prefix, j, hashName(sum[:]), k.ext)
			if err := write(key, body); err != nil {
				return err
			}
			total += int64(size)
		}
	}
	fmt.Printf("generated %d files (%.1f MiB of assets) in %s\n", *files, float64(total)/(1<<20), *dir)
	return nil
}

// hashName is an 8-character content hash with a letter and a digit, as
// bundlers name their output.
func hashName(sum []byte) string {
	h := hex.EncodeToString(sum)[:7]
	return "a" + h[:6] + string('0'+rune(sum[7]%10))
}

func page(rng *rand.Rand, src *rand.ChaCha8, name string) []byte {
	return []byte(fmt.Sprintf("<!doctype html><title>%s</title><script type=module src=/assets/chunk0.js></script>%s", name, noise(rng, src, 2<<10, true)))
}

func noise(rng *rand.Rand, src *rand.ChaCha8, n int, text bool) []byte {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 (){};=.,\n"
	b := make([]byte, n)
	if !text {
		_, _ = src.Read(b)
		return b
	}
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return b
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	buckets := fs.String("buckets", "", "comma-separated buckets to create")
	envFile := fs.String("env", "", "file to write the endpoint variables to")
	lifetime := fs.Duration("max-lifetime", 30*time.Minute, "stop by itself after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *buckets == "" || *envFile == "" {
		return errors.New("serve: -buckets and -env are required")
	}
	s3, err := publishtest.NewS3(time.Time{}, strings.Split(*buckets, ",")...)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer s3.Close()
	const distribution = "EBENCH"
	cf := publishtest.NewCloudFront(distribution)
	defer cf.Close()

	env := fmt.Sprintf("AWS_ENDPOINT_URL_S3=%s\nAWS_ENDPOINT_URL_CLOUDFRONT=%s\nBENCH_DISTRIBUTION_ID=%s\n", s3.URL, cf.URL, distribution)
	if err := os.WriteFile(*envFile+".tmp", []byte(env), 0o600); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if err := os.Rename(*envFile+".tmp", *envFile); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case <-time.After(*lifetime):
		fmt.Fprintln(os.Stderr, "bench: serve: max lifetime reached, stopping")
	}
	return nil
}
