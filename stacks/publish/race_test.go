package publish_test

import (
	"context"
	"crypto/md5" //nolint:gosec // S3 ETags are MD5
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/experts/platform/stacks/publish"
)

// TestInterleavedPublishesNeverBreakTheLiveRelease pauses one publish after
// each of its steps and runs a second one meanwhile: one that finds the lock
// held, one that waits for it, and one that finds it expired (the first
// publish stalled past its TTL) and takes it over. Whatever the
// interleaving, every file of the release the live pointer names is in the
// bucket with its recorded content.
func TestInterleavedPublishesNeverBreakTheLiveRelease(t *testing.T) {
	const ttl = 10 * time.Minute
	for _, step := range publish.Steps {
		for _, second := range []string{"finds the lock held", "waits for the lock", "takes over the expired lock"} {
			t.Run("a second publish "+second+" after the first "+string(step), func(t *testing.T) {
				e := newEnv(t)
				e.publish(writeDist(t, site(1)))

				paused, resume := make(chan struct{}), make(chan struct{})
				a := e.publisher(writeDist(t, site(2)))
				// A retains nothing: after its HTML is live it has old files
				// to delete, which it must not do once it lost the lock.
				a.Holder, a.LockTTL, a.Retain = "publish A", ttl, 0
				a.OnStep = func(_ context.Context, s publish.Step) {
					if s == step {
						close(paused)
						<-resume
					}
				}
				b := e.publisher(writeDist(t, site(3)))
				b.Holder, b.LockTTL = "publish B", ttl
				switch second {
				case "waits for the lock":
					b.LockWait, b.LockPoll = time.Minute, time.Millisecond
				case "takes over the expired lock":
					later := b.Now().Add(2 * ttl)
					b.Now = func() time.Time { return later }
				}

				var wg sync.WaitGroup
				var errA, errB error
				wg.Go(func() { _, errA = a.Publish(context.Background()) })
				<-paused
				if second == "waits for the lock" {
					wg.Go(func() { _, errB = b.Publish(context.Background()) })
					waitForLockAttempt(t, e)
					close(resume)
				} else {
					_, errB = b.Publish(context.Background())
					close(resume)
				}
				wg.Wait()

				switch second {
				case "finds the lock held":
					if !errors.Is(errB, publish.ErrLocked) || errA != nil {
						t.Errorf("publishes = %v, %v; want A to succeed and B to fail with ErrLocked", errA, errB)
					}
				case "waits for the lock":
					if errA != nil || errB != nil {
						t.Errorf("publishes = %v, %v; want both to succeed, one after the other", errA, errB)
					}
				case "takes over the expired lock":
					if errB != nil {
						t.Errorf("publish B over the expired lock: %v", errB)
					}
					if step != publish.StepDeleted && !errors.Is(errA, publish.ErrLockLost) {
						t.Errorf("publish A after losing its lock = %v, want ErrLockLost", errA)
					}
				}
				checkLiveReleaseIntact(t, e)
			})
		}
	}
}

// waitForLockAttempt waits until some publish has been refused the lock.
func waitForLockAttempt(t *testing.T, e *env) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range e.s3.Requests() {
			if r.Op() == "PUT" && r.Key == publish.LockKey && r.Status == 412 {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("no publish tried to take the held lock")
}

// checkLiveReleaseIntact requires every file of the live release to be in
// the bucket with the content its manifest records.
func checkLiveReleaseIntact(t *testing.T, e *env) {
	t.Helper()
	objs := e.objects()
	live := liveRelease(t, e)
	obj, ok := objs[publish.ReleasePrefix+live+".json"]
	if !ok {
		t.Fatalf("the live release %s has no manifest", live)
	}
	var m publish.Manifest
	if err := json.Unmarshal(obj.Body, &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range m.Files {
		got, ok := objs[f.Key]
		if !ok {
			t.Errorf("%s of the live release %s is not in the bucket", f.Key, live)
			continue
		}
		sum := md5.Sum(got.Body) //nolint:gosec // see import
		if hex.EncodeToString(sum[:]) != f.MD5 {
			t.Errorf("%s in the bucket is not the live release %s's", f.Key, live)
		}
	}
}
