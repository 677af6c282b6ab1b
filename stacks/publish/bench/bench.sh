#!/usr/bin/env bash
# Times `deployctl publish-frontend` against `aws s3 sync --delete` (Debian's
# awscli) on the same local S3 server: a first publish into an empty bucket
# and an unchanged re-publish, each the median of BENCH_RUNS runs, and prints
# deployctl's time as a ratio of awscli's (goals: <= 0.1 for both).
#
# Not a test: nothing in go test runs it. Needs Go; uses the aws on PATH
# (AWS_CLI to choose another), else installs Debian's awscli with apt-get (as
# root).
#
#   BENCH_FILES  files in the generated dist (default 1000)
#   BENCH_RUNS   runs of each measurement (default 3)
#   DEPLOYCTL    a deployctl binary to use instead of building one
set -euo pipefail

files=${BENCH_FILES:-1000}
runs=${BENCH_RUNS:-3}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
work=$(mktemp -d)
server_pid=""

cleanup() {
	if [[ -n $server_pid ]]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

aws=${AWS_CLI:-$(command -v aws || echo /usr/bin/aws)}
if [[ ! -x $aws ]]; then
	echo "installing Debian's awscli" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq awscli >/dev/null
fi

echo "building" >&2
(cd "$root" && go build -o "$work/bench" ./stacks/publish/bench)
if [[ -n ${DEPLOYCTL:-} ]]; then
	cp "$DEPLOYCTL" "$work/deployctl"
else
	(cd "$root" && go build -o "$work/deployctl" ./cmd/deployctl)
fi

"$work/bench" gen -dir "$work/dist" -files "$files" >&2

buckets=()
for ((i = 1; i <= runs; i++)); do
	buckets+=("deployctl-$i" "awscli-$i")
done
"$work/bench" serve -buckets "$(IFS=,; echo "${buckets[*]}")" -env "$work/env" &
server_pid=$!
for _ in $(seq 100); do
	[[ -s $work/env ]] && break
	sleep 0.1
done
[[ -s $work/env ]] || { echo "bench: the local S3 server did not start" >&2; exit 1; }
set -a
# shellcheck source=/dev/null
. "$work/env"
set +a

# Both tools talk to the same server with the same dummy credentials.
cat >"$work/aws-config" <<'EOF'
[default]
region = us-east-1
s3 =
  addressing_style = path
EOF
export AWS_CONFIG_FILE=$work/aws-config AWS_SHARED_CREDENTIALS_FILE=$work/no-credentials
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_S3_USE_PATH_STYLE=true AWS_PAGER=""
unset AWS_PROFILE AWS_ENDPOINT_URL AWS_MAX_ATTEMPTS

# ms runs a command quietly and prints how long it took in milliseconds.
ms() {
	local start end
	start=$(date +%s%N)
	"$@" >>"$work/log" 2>&1 || { echo "bench: failed: $*" >&2; tail -20 "$work/log" >&2; exit 1; }
	end=$(date +%s%N)
	echo $(((end - start) / 1000000))
}

publish() {
	local bucket=$1
	shift
	"$work/deployctl" publish-frontend --dist "$work/dist" --bucket "$bucket" --distribution-id "$BENCH_DISTRIBUTION_ID" "$@"
}

sync() {
	local bucket=$1
	shift
	"$aws" --endpoint-url "$AWS_ENDPOINT_URL_S3" s3 sync "$work/dist" "s3://$bucket" --delete --only-show-errors "$@"
}

median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

dc_first=() dc_again=() cli_first=() cli_again=()
for ((i = 1; i <= runs; i++)); do
	echo "run $i of $runs" >&2
	dc_first+=("$(ms publish "deployctl-$i")")
	dc_again+=("$(ms publish "deployctl-$i")")
	cli_first+=("$(ms sync "awscli-$i")")
	cli_again+=("$(ms sync "awscli-$i")")
done

count() { "$aws" --endpoint-url "$AWS_ENDPOINT_URL_S3" s3 ls --recursive "s3://$1" | grep -vc ' _releases/' || true; }
dc_n=$(count deployctl-1)
cli_n=$(count awscli-1)
if [[ $dc_n != "$files" || $cli_n != "$files" ]]; then
	echo "bench: buckets hold $dc_n (deployctl) and $cli_n (awscli) files, want $files" >&2
	exit 1
fi

# The re-publishes measured above had nothing to do: check that both tools agree.
pending_cli=$(sync awscli-1 --dryrun | grep -c upload || true)
pending_dc=$(publish deployctl-1 --dry-run 2>/dev/null | grep -c '^upload' || true)
if [[ $pending_cli != 0 || $pending_dc != 0 ]]; then
	echo "bench: a re-publish would still upload $pending_dc (deployctl) and $pending_cli (awscli) files" >&2
	exit 1
fi

df=$(median "${dc_first[@]}") da=$(median "${dc_again[@]}")
cf=$(median "${cli_first[@]}") ca=$(median "${cli_again[@]}")
echo "dist: $files files, $(du -sh "$work/dist" | cut -f1); awscli $("$aws" --version 2>&1 | cut -d' ' -f1); median of $runs runs"
awk -v df="$df" -v da="$da" -v cf="$cf" -v ca="$ca" 'BEGIN {
	printf "%-22s %12s %12s %8s %6s\n", "", "deployctl", "aws s3 sync", "ratio", "goal"
	printf "%-22s %10d ms %10d ms %8.2f %6s\n", "first publish", df, cf, df / cf, "0.10"
	printf "%-22s %10d ms %10d ms %8.2f %6s\n", "unchanged re-publish", da, ca, da / ca, "0.10"
}'
