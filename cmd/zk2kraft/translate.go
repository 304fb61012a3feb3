package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/zk2kraft/zk2kraft/translate"
	"github.com/zk2kraft/zk2kraft/translate/batch/checkpoint"
	"github.com/zk2kraft/zk2kraft/translate/records"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

func init() { register(newTranslateCmd) }

// passwordSecretEnv holds --password-encoder-secret out of the process list.
const passwordSecretEnv = "ZK2KRAFT_PASSWORD_ENCODER_SECRET"

type translateFlags struct {
	zk              zkReadFlags
	snapshot        string
	output          string
	out             string
	view            string
	metadataVersion string
	showSecrets     bool
	secret          string
	passThrough     bool
	maxBatchBytes   int
}

func newTranslateCmd() *cobra.Command {
	f := &translateFlags{}
	cmd := &cobra.Command{
		Use:   "translate (--zk CONNECT | --snapshot FILE) [--output text|json|checkpoint] [--out FILE]",
		Short: "Dry run: translate ZooKeeper's metadata into KRaft records and show them (writes nothing else)",
		Long: `Reads a Kafka cluster's metadata from ZooKeeper (read only: nothing is written to ZooKeeper) or from a
snapshot file of 'zk2kraft snapshot', translates it into the KRaft metadata records Kafka's own migration
writes (topics, partitions, configs, quotas, SCRAM, producer ids, ACLs, delegation tokens, plus the broker
registrations and the migration framing), and writes only its output:

  text        a summary: records per type, what is not migrated and why, findings (default)
  json        one record per line in Kafka's JSON style ({"type":"TOPIC_RECORD","version":0,"data":{...}}),
              the whole log of a migrated quorum (--records log) or the migrated image (--records image)
  checkpoint  a Kafka-layout snapshot file of the migrated image (use --out FILE)

SCRAM salts/keys and password configs are redacted in text and json unless --show-secrets.
Exit codes: 0 translated, 1 blocker findings (the migration must not start), 2 usage or read error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runTranslate(cmd, f) },
	}
	addZKReadFlags(cmd, &f.zk, true)
	fl := cmd.Flags()
	fl.StringVar(&f.snapshot, "snapshot", "", "read a snapshot file written by 'zk2kraft snapshot' instead of ZooKeeper")
	fl.StringVarP(&f.output, "output", "o", "text", "text, json or checkpoint")
	fl.StringVar(&f.out, "out", "", "write the output to FILE (written whole, then renamed into place) instead of stdout; for checkpoint a directory gets Kafka's <end offset>-<epoch>.checkpoint name")
	fl.StringVar(&f.view, "records", "log", "for --output json: log (bootstrap, registrations, the copy, in log order) or image (the migrated image, checkpoint order)")
	fl.StringVar(&f.metadataVersion, "metadata-version", "3.9-IV0", "target metadata.version (3.6-IV1 … 3.9-IV0; a release like 3.7 means its last version)")
	fl.BoolVar(&f.showSecrets, "show-secrets", false, "print SCRAM salts/keys and decrypted password configs")
	fl.StringVar(&f.secret, "password-encoder-secret", "", "the brokers' password.encoder.secret, to decrypt dynamic password configs (better: set "+passwordSecretEnv+")")
	fl.BoolVar(&f.passThrough, "pass-through-encrypted-passwords", false, "copy password configs that cannot be decrypted as stored ciphertext, as Kafka's NOOP encoder does (KRaft brokers would read the ciphertext as the password)")
	fl.IntVar(&f.maxBatchBytes, "max-batch-bytes", translate.DefaultMaxBatchBytes, "upper bound of one RecordBatch in bytes")
	return cmd
}

func runTranslate(cmd *cobra.Command, f *translateFlags) error {
	switch f.output {
	case "text", "json", "checkpoint":
	default:
		return withExitCode(2, fmt.Errorf("--output %q: want text, json or checkpoint", f.output))
	}
	if f.view != "log" && f.view != "image" {
		return withExitCode(2, fmt.Errorf("--records %q: want log or image", f.view))
	}
	if (f.snapshot == "") == (f.zk.connect == "" && !f.zk.dataDir.set()) {
		return withExitCode(2, errors.New("give exactly one of --zk CONNECT, --zk-data-dir DIR or --snapshot FILE"))
	}
	if f.output == "checkpoint" && f.out == "" && isTerminal(os.Stdout) {
		return withExitCode(2, errors.New("--output checkpoint writes a binary file: give --out FILE or redirect stdout"))
	}
	if _, err := translate.ResolveMetadataVersion(f.metadataVersion); err != nil {
		return withExitCode(2, fmt.Errorf("--metadata-version: %w", err))
	}
	secret := f.secret
	if secret == "" {
		secret = os.Getenv(passwordSecretEnv)
	}

	var snap *zkreader.Snapshot
	if f.snapshot != "" {
		fh, err := os.Open(f.snapshot)
		if err != nil {
			return withExitCode(2, fmt.Errorf("--snapshot: %w", err))
		}
		snap, err = zkreader.Load(bufio.NewReader(fh))
		fh.Close()
		if err != nil {
			return withExitCode(2, fmt.Errorf("--snapshot %s: %w", f.snapshot, err))
		}
	} else {
		var err error
		if snap, err = readSnapshot(cmd.Context(), &f.zk); err != nil {
			return err
		}
	}

	res, err := translate.Translate(snap, translate.Options{
		MetadataVersion:               f.metadataVersion,
		PasswordEncoderSecret:         secret,
		PassThroughEncryptedPasswords: f.passThrough,
		MaxBatchBytes:                 f.maxBatchBytes,
	})
	if err != nil {
		return withExitCode(2, err)
	}

	var buf bytes.Buffer
	var w io.Writer = os.Stdout
	if f.out != "" {
		w = &buf
	}
	jsonOpts := records.JSONOptions{ShowSecrets: f.showSecrets}
	switch f.output {
	case "text":
		err = translate.WriteText(w, snap, res)
	case "json":
		batches := res.Log()
		if f.view == "image" {
			recs, rerr := res.CheckpointRecords()
			if rerr != nil {
				return withExitCode(2, rerr)
			}
			batches = [][]records.Versioned{recs}
		}
		err = translate.WriteJSONLines(w, batches, jsonOpts)
	case "checkpoint":
		err = translate.WriteCheckpoint(cmd.Context(), w, res)
	}
	if err != nil {
		return withExitCode(2, fmt.Errorf("translate: write %s output: %w", f.output, err))
	}
	if f.out != "" {
		if st, err := os.Stat(f.out); err == nil && st.IsDir() {
			if f.output != "checkpoint" {
				return withExitCode(2, fmt.Errorf("--out %s is a directory (only --output checkpoint writes into a directory)", f.out))
			}
			f.out = filepath.Join(f.out, checkpoint.FileName(res.CheckpointID()))
		}
		if err := translateWriteFile(f.out, buf.Bytes()); err != nil {
			return withExitCode(2, fmt.Errorf("--out: %w", err))
		}
		if f.output != "text" {
			fmt.Fprintf(os.Stderr, "wrote %s (%d bytes)\n", f.out, buf.Len())
		}
	}
	blocked := res.Blocked()
	for _, fd := range snap.Findings {
		blocked = blocked || fd.Severity == zkreader.Blocker
	}
	if blocked {
		if f.output != "text" {
			fmt.Fprintln(os.Stderr, "zk2kraft translate: blocker findings: the migration must not start (see --output text)")
		}
		return withExitCode(1, nil)
	}
	return nil
}

// translateWriteFile writes data to path via path.part, synced, then renamed.
func translateWriteFile(path string, data []byte) error {
	tmp := path + ".part"
	fh, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := fh.Write(data); err != nil {
		fh.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		os.Remove(tmp)
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := fh.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
