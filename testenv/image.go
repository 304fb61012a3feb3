package testenv

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// The ZooKeeper image is built without any registry (testinfra.md §4 option
// (a)): a root filesystem holding exactly the host's installed files that
// java and ZooKeeper need (the JRE package and the C libraries it links, the
// jars of zookeeper.jar's Class-Path, slf4j-simple), streamed as a tar into
// `docker import`. Its tag is a hash of that file list (paths, sizes, mtimes,
// link targets), so it is built once per set of installed packages and then
// reused; a file lock serializes concurrent builds.

// imageRepo is the repository name of the local image.
const imageRepo = "zk2kraft-zookeeper"

// imageRecipe bumps the tag when the way the image is built changes.
const imageRecipe = "rootfs-v2"

// ImageInfo describes the local ZooKeeper image.
type ImageInfo struct {
	Tag   string        // "zk2kraft-zookeeper:<hash>"
	Java  string        // the java binary inside the image
	Files int           // files and links in the root filesystem
	Built bool          // false: the image already existed
	Took  time.Duration // time spent in EnsureImage
}

// rootfsEntry is one host path copied into the image at name.
type rootfsEntry struct {
	host string // absolute host path
	name string // path inside the image (no leading slash)
}

// EnsureImage builds the ZooKeeper image from the host's installed packages
// unless an image with the same content hash exists.
func EnsureImage(ctx context.Context, logf func(string, ...any)) (*ImageInfo, error) {
	start := time.Now()
	if logf == nil {
		logf = func(string, ...any) {}
	}
	entries, java, err := rootfsFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	tag, err := contentTag(entries)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	info := &ImageInfo{Tag: tag, Java: java, Files: len(entries)}
	if imageExists(ctx, tag) {
		info.Took = time.Since(start)
		return info, nil
	}
	unlock, err := lockFile(ctx, filepath.Join(os.TempDir(), "zk2kraft-testenv-image.lock"))
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	defer unlock()
	if imageExists(ctx, tag) { // built by someone else while we waited
		info.Took = time.Since(start)
		return info, nil
	}
	logf("testenv: building ZooKeeper image %s from %d host files", tag, len(entries))
	if err := importRootfs(ctx, entries, tag); err != nil {
		return nil, fmt.Errorf("image %s: %w", tag, err)
	}
	info.Built = true
	info.Took = time.Since(start)
	logf("testenv: image %s built in %v", tag, info.Took.Round(time.Millisecond))
	return info, nil
}

// RemoveImage removes the local ZooKeeper image tag (for cold-build benchmarks).
func RemoveImage(ctx context.Context, tag string) error {
	out, err := exec.CommandContext(ctx, "docker", "image", "rm", "-f", tag).CombinedOutput()
	if err != nil {
		return fmt.Errorf("docker image rm %s: %v: %s", tag, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func imageExists(ctx context.Context, tag string) bool {
	return exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", tag).Run() == nil
}

// lockFile takes an exclusive flock on path, polling so ctx can cancel.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// rootfsFiles lists the host files the image needs and the java binary.
func rootfsFiles(ctx context.Context) ([]rootfsEntry, string, error) {
	javaLink, err := exec.LookPath("java")
	if err != nil {
		return nil, "", errors.New("java is not installed (run scripts/setup.sh)")
	}
	java, err := filepath.EvalSymlinks(javaLink)
	if err != nil {
		return nil, "", fmt.Errorf("resolve %s: %w", javaLink, err)
	}
	out, err := exec.CommandContext(ctx, "dpkg", "-S", java).Output()
	if err != nil {
		return nil, "", fmt.Errorf("dpkg -S %s: %w (is the JRE a Debian package?)", java, err)
	}
	jrePkg, _, _ := strings.Cut(strings.TrimSpace(string(out)), ": ")
	var paths []string
	for _, pkg := range []string{jrePkg, "libc6", "libstdc++6", "libgcc-s1", "zlib1g"} {
		out, err := exec.CommandContext(ctx, "dpkg", "-L", pkg).Output()
		if err != nil {
			return nil, "", fmt.Errorf("dpkg -L %s: %w", pkg, err)
		}
		for _, p := range strings.Split(string(out), "\n") {
			if st, err := os.Lstat(p); err == nil && !st.IsDir() {
				paths = append(paths, p)
			}
		}
	}
	jars, err := manifestClassPath(zkJar)
	if err != nil {
		return nil, "", err
	}
	jars = append(append(jars, zkJar, javaShare+"/slf4j-api.jar"), extraJars...)
	for _, j := range jars {
		if _, err := os.Stat(j); err != nil {
			continue // an optional Class-Path entry Debian does not ship
		}
		paths = append(paths, j)
		if real, err := filepath.EvalSymlinks(j); err == nil && real != j {
			paths = append(paths, real)
		}
	}
	// The JRE's conf/ links into /etc/java-<n>-openjdk (listed by dpkg -L
	// above); the CA store is optional.
	_ = filepath.WalkDir("/etc/ssl/certs/java", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, p)
		}
		return nil
	})
	seen := map[string]bool{}
	var entries []rootfsEntry
	for _, p := range paths {
		name := strings.TrimPrefix(p, "/")
		// Bookworm is merged-/usr: dpkg lists /lib/..., the image has usr/lib/...
		for _, d := range []string{"lib/", "lib64/", "bin/", "sbin/"} {
			if strings.HasPrefix(name, d) {
				name = "usr/" + name
			}
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		entries = append(entries, rootfsEntry{host: p, name: name})
	}
	sort.Slice(entries, func(i, k int) bool { return entries[i].name < entries[k].name })
	return entries, java, nil
}

// manifestClassPath reads the Class-Path of a jar's manifest.
func manifestClassPath(jar string) ([]string, error) {
	zr, err := zip.OpenReader(jar)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", jar, err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name != "META-INF/MANIFEST.MF" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%s manifest: %w", jar, err)
		}
		defer rc.Close()
		var cp strings.Builder
		in := false
		sc := bufio.NewScanner(rc)
		for sc.Scan() {
			line := strings.TrimRight(sc.Text(), "\r")
			switch {
			case strings.HasPrefix(line, "Class-Path: "):
				in = true
				cp.WriteString(strings.TrimPrefix(line, "Class-Path: "))
			case in && strings.HasPrefix(line, " "):
				cp.WriteString(line[1:])
			default:
				in = false
			}
		}
		var jars []string
		for _, j := range strings.Fields(cp.String()) {
			if !filepath.IsAbs(j) {
				j = filepath.Join(filepath.Dir(jar), j)
			}
			jars = append(jars, j)
		}
		return jars, nil
	}
	return nil, fmt.Errorf("%s: no META-INF/MANIFEST.MF", jar)
}

// contentTag hashes the file list (names, sizes, mtimes, link targets).
func contentTag(entries []rootfsEntry) (string, error) {
	h := sha256.New()
	fmt.Fprintln(h, imageRecipe)
	for _, e := range entries {
		st, err := os.Lstat(e.host)
		if err != nil {
			return "", fmt.Errorf("stat %s: %w", e.host, err)
		}
		link := ""
		if st.Mode()&os.ModeSymlink != 0 {
			link, _ = os.Readlink(e.host)
		}
		fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d\x00%o\x00%s\n", e.name, e.host, st.Size(), st.ModTime().UnixNano(), st.Mode(), link)
	}
	return imageRepo + ":" + hex.EncodeToString(h.Sum(nil))[:16], nil
}

// importRootfs streams the root filesystem as a tar into `docker import`.
func importRootfs(ctx context.Context, entries []rootfsEntry, tag string) error {
	cmd := exec.CommandContext(ctx, "docker", "import", "--message", "zk2kraft testenv ZooKeeper (host Debian packages)", "-", tag)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("docker import: %w", err)
	}
	werr := writeRootfs(stdin, entries)
	cerr := stdin.Close()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("docker import: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	if werr != nil {
		return werr
	}
	return cerr
}

// writeRootfs writes the skeleton (merged-/usr links, /tmp, /etc/passwd,
// /zk) and every entry, with the parent directories each needs.
func writeRootfs(w io.Writer, entries []rootfsEntry) error {
	tw := tar.NewWriter(w)
	now := time.Now()
	dirs := map[string]bool{}
	dir := func(name string, mode int64) error {
		if dirs[name] {
			return nil
		}
		dirs[name] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: now})
	}
	var mkparents func(name string) error
	mkparents = func(name string) error {
		parent := filepath.Dir(name)
		if parent == "." || dirs[parent] {
			return nil
		}
		if err := mkparents(parent); err != nil {
			return err
		}
		return dir(parent, 0o755)
	}
	for _, d := range []string{"usr", "usr/bin", "usr/lib", "usr/lib64", "usr/sbin", "etc", "proc", "sys", "dev", "zk", "tls", "root"} {
		if err := dir(d, 0o755); err != nil {
			return err
		}
	}
	if err := dir("tmp", 0o1777); err != nil {
		return err
	}
	for _, l := range []string{"bin", "lib", "lib64", "sbin"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: l, Linkname: "usr/" + l, Mode: 0o777, ModTime: now}); err != nil {
			return err
		}
	}
	passwd := []byte("root:x:0:0:root:/root:/bin/sh\nzk:x:1000:1000:zk:/tmp:/bin/sh\n")
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/passwd", Mode: 0o644, Size: int64(len(passwd)), ModTime: now}); err != nil {
		return err
	}
	if _, err := tw.Write(passwd); err != nil {
		return err
	}
	for _, e := range entries {
		switch e.name {
		case "bin", "lib", "lib64", "sbin", "etc/passwd":
			continue // the skeleton's own
		}
		if dirs[e.name] {
			continue
		}
		if err := mkparents(e.name); err != nil {
			return err
		}
		st, err := os.Lstat(e.host)
		if err != nil {
			return fmt.Errorf("stat %s: %w", e.host, err)
		}
		link := ""
		if st.Mode()&os.ModeSymlink != 0 {
			if link, err = os.Readlink(e.host); err != nil {
				return fmt.Errorf("readlink %s: %w", e.host, err)
			}
		}
		hdr, err := tar.FileInfoHeader(st, link)
		if err != nil {
			return fmt.Errorf("tar header %s: %w", e.host, err)
		}
		hdr.Name = e.name
		hdr.Uname, hdr.Gname, hdr.Uid, hdr.Gid = "", "", 0, 0
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg {
			f, err := os.Open(e.host)
			if err != nil {
				return fmt.Errorf("open %s: %w", e.host, err)
			}
			_, err = io.Copy(tw, f)
			f.Close()
			if err != nil {
				return fmt.Errorf("copy %s: %w", e.host, err)
			}
		}
	}
	return tw.Close()
}
