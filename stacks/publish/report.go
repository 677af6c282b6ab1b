package publish

import (
	"bufio"
	"fmt"
	"io"
)

// WriteText prints the plan, one line per file, delete and path, then a
// summary line.
func (p *Plan) WriteText(w io.Writer) error {
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "plan: release %s to bucket %s", p.Release, p.Bucket)
	if p.DistributionID != "" {
		fmt.Fprintf(b, ", distribution %s", p.DistributionID)
	}
	if p.Unchanged {
		fmt.Fprint(b, " (already live)")
	}
	fmt.Fprintln(b)
	for _, f := range p.Uploads {
		fmt.Fprintf(b, "upload      %s  %s  %s  %s  %s\n", f.Key, FormatBytes(f.Size), f.Reason, f.ContentType, f.CacheControl)
	}
	for _, f := range p.Skips {
		fmt.Fprintf(b, "skip        %s\n", f.Key)
	}
	for _, k := range p.Deletes {
		fmt.Fprintf(b, "delete      %s\n", k)
	}
	for _, path := range p.Invalidate {
		fmt.Fprintf(b, "invalidate  %s\n", path)
	}
	for _, id := range p.KeptReleases {
		fmt.Fprintf(b, "keep        release %s\n", id)
	}
	for _, k := range p.Ignored {
		fmt.Fprintf(b, "ignore      %s\n", k)
	}
	for _, warning := range p.Warnings {
		fmt.Fprintf(b, "warning     %s\n", warning)
	}
	fmt.Fprintf(b, "summary: %d to upload (%s), %d unchanged, %d to delete, %d path(s) to invalidate\n",
		len(p.Uploads), FormatBytes(p.UploadBytes), len(p.Skips), len(p.Deletes), len(p.Invalidate))
	return b.Flush()
}

// WriteText prints a one-line summary, and on a failed publish the files
// that were and were not uploaded.
func (r *Result) WriteText(w io.Writer, failed bool) error {
	b := bufio.NewWriter(w)
	switch {
	case failed:
		fmt.Fprintf(b, "publish of release %s to bucket %s did not finish: %d uploaded (%s), %d not uploaded, %d unknown, %d unchanged, %d deleted\n",
			r.Release, r.Bucket, len(r.Uploaded), FormatBytes(r.UploadedBytes), len(r.NotUploaded), len(r.Unknown), r.Skipped, len(r.Deleted))
		for _, k := range r.Uploaded {
			fmt.Fprintf(b, "uploaded      %s\n", k)
		}
		for _, k := range r.NotUploaded {
			fmt.Fprintf(b, "not uploaded  %s\n", k)
		}
		for _, k := range r.Unknown {
			fmt.Fprintf(b, "unknown       %s (canceled in flight: S3 may have stored it)\n", k)
		}
	case r.Unchanged:
		fmt.Fprintf(b, "release %s is already live in bucket %s: nothing uploaded, %d unchanged, %d deleted, %d path(s) invalidated, in %.1fs\n",
			r.Release, r.Bucket, r.Skipped, len(r.Deleted), len(r.Invalidated), r.Seconds)
	default:
		fmt.Fprintf(b, "published release %s to bucket %s: %d uploaded (%s), %d unchanged, %d deleted, %d path(s) invalidated, in %.1fs\n",
			r.Release, r.Bucket, len(r.Uploaded), FormatBytes(r.UploadedBytes), r.Skipped, len(r.Deleted), len(r.Invalidated), r.Seconds)
	}
	return b.Flush()
}

// FormatBytes prints n in B, KiB, MiB or GiB.
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 2; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMG"[exp])
}
