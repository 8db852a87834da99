#!/usr/bin/env bash
# Start, stop and check the video_enhance service in the background: one video_api process per GPU, each on its
# own port, with a pid file, a log file and a health wait. Re-running `start` leaves running instances alone.
#
#   video_enhance/sr_if.sh start [--gpus 0,1] [--port 6010] [--host 127.0.0.1]
#   video_enhance/sr_if.sh stop | status | restart [same options]
#
# Instance i listens on port+i and, with --gpus, sees only its GPU (CUDA_VISIBLE_DEVICES). Settings reach the
# service through the environment (ENHANCE_*; see video_enhance/README.md). Environment of this script:
#   PYTHON                 interpreter with video_enhance/requirements.txt (default: video_enhance/.venv, then
#                          the repository's .venv, then python3)
#   ENHANCE_STATE_DIR      where logs/ and run/ go (default: ${XDG_STATE_HOME:-~/.local/state}/story2video/video_enhance)
#   ENHANCE_START_TIMEOUT  seconds to wait for /health (default 300: GPU models take a while to load)
#   ENHANCE_STOP_TIMEOUT   seconds to wait after SIGTERM before SIGKILL (default 30)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE_DIR=${ENHANCE_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/story2video/video_enhance}
LOG_DIR=$STATE_DIR/logs
RUN_DIR=$STATE_DIR/run
START_TIMEOUT=${ENHANCE_START_TIMEOUT:-300}
STOP_TIMEOUT=${ENHANCE_STOP_TIMEOUT:-30}
HOST=${ENHANCE_HOST:-127.0.0.1}
PORT=${ENHANCE_PORT:-6010}
GPUS=""

usage() {
  sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

die() {
  echo "sr_if.sh: $*" >&2
  exit 1
}

pick_python() {
  if [[ -n ${PYTHON:-} ]]; then
    echo "$PYTHON"
  elif [[ -x $HERE/.venv/bin/python ]]; then
    echo "$HERE/.venv/bin/python"
  elif [[ -x $HERE/../.venv/bin/python ]]; then
    echo "$HERE/../.venv/bin/python"
  else
    command -v python3 || die "no Python found; set PYTHON"
  fi
}

# Ports of the instances: one per GPU in --gpus, else one.
instance_ports() {
  local count=1 i
  if [[ -n $GPUS ]]; then
    IFS=, read -r -a gpu_list <<<"$GPUS"
    count=${#gpu_list[@]}
  fi
  for ((i = 0; i < count; i++)); do
    echo $((PORT + i))
  done
}

pid_file() { echo "$RUN_DIR/video_api-$1.pid"; }
log_file() { echo "$LOG_DIR/video_api-$1.log"; }

# Whether a process exists and is not a zombie (an exited child nobody has reaped yet).
alive() {
  local stat
  kill -0 "$1" 2>/dev/null || return 1
  [[ -r /proc/$1/stat ]] || return 0
  stat=$(<"/proc/$1/stat")
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# The pid in a pid file, if that process is alive.
running_pid() {
  local file pid
  file=$(pid_file "$1")
  [[ -f $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" && echo "$pid"
}

healthy() {
  "$PY" - "http://$HOST:$1/health" <<'EOF' >/dev/null 2>&1
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as response:
    sys.exit(0 if response.status == 200 else 1)
EOF
}

start_one() {
  local port=$1 gpu=$2 pid log deadline
  if pid=$(running_pid "$port"); then
    echo "video_api on port $port is already running (pid $pid)"
    return 0
  fi
  log=$(log_file "$port")
  echo "starting video_api on $HOST:$port${gpu:+ (GPU $gpu)}; log: $log"
  (
    cd "$HERE"
    if [[ -n $gpu ]]; then export CUDA_VISIBLE_DEVICES=$gpu; fi
    ENHANCE_HOST=$HOST ENHANCE_PORT=$port nohup "$PY" -m video_api.main >>"$log" 2>&1 </dev/null &
    echo $! >"$(pid_file "$port")"
  )
  pid=$(<"$(pid_file "$port")")
  deadline=$((SECONDS + START_TIMEOUT))
  until healthy "$port"; do
    if ! alive "$pid"; then
      rm -f "$(pid_file "$port")"
      echo "video_api on port $port exited during start-up; last log lines:" >&2
      tail -n 20 "$log" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      echo "video_api on port $port is not healthy after ${START_TIMEOUT}s (still starting? see $log)" >&2
      return 1
    fi
    sleep 1
  done
  echo "video_api on port $port is healthy (pid $pid)"
}

stop_one() {
  local port=$1 pid deadline
  if ! pid=$(running_pid "$port"); then
    rm -f "$(pid_file "$port")"
    echo "video_api on port $port is not running"
    return 0
  fi
  echo "stopping video_api on port $port (pid $pid)"
  kill -TERM "$pid"
  deadline=$((SECONDS + STOP_TIMEOUT))
  while alive "$pid"; do
    if ((SECONDS >= deadline)); then
      echo "video_api on port $port ignored SIGTERM for ${STOP_TIMEOUT}s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$(pid_file "$port")"
}

status_one() {
  local port=$1 pid
  if pid=$(running_pid "$port"); then
    if healthy "$port"; then
      echo "video_api on port $port: running (pid $pid), healthy"
    else
      echo "video_api on port $port: running (pid $pid), not answering /health"
      return 1
    fi
  else
    echo "video_api on port $port: stopped"
    return 1
  fi
}

# Ports with a pid file: what `stop` and `status` act on when no --gpus/--port is given.
known_ports() {
  local file
  for file in "$RUN_DIR"/video_api-*.pid; do
    [[ -e $file ]] || continue
    file=${file##*/video_api-}
    echo "${file%.pid}"
  done
}

main() {
  local command=${1:-}
  case $command in
    "") usage; exit 2 ;;
    -h | --help | help) usage; exit 0 ;;
  esac
  shift
  local explicit=""
  while (($#)); do
    case $1 in
      --gpus) GPUS=${2:?--gpus needs a list such as 0,1}; explicit=1; shift 2 ;;
      --port) PORT=${2:?--port needs a number}; explicit=1; shift 2 ;;
      --host) HOST=${2:?--host needs an address}; shift 2 ;;
      -h | --help) usage; exit 0 ;;
      *) die "unknown option $1 (see --help)" ;;
    esac
  done
  [[ $PORT =~ ^[0-9]+$ ]] || die "--port must be a number"
  mkdir -p "$LOG_DIR" "$RUN_DIR"
  PY=$(pick_python)
  local ports=() gpus=() port i status=0
  mapfile -t ports < <(instance_ports)
  if [[ -n $GPUS ]]; then IFS=, read -r -a gpus <<<"$GPUS"; fi
  if [[ $command != start && -z $explicit ]]; then
    mapfile -t ports < <(known_ports)
  fi
  case $command in
    start)
      for i in "${!ports[@]}"; do start_one "${ports[$i]}" "${gpus[$i]:-}" || status=1; done ;;
    stop)
      for port in "${ports[@]}"; do stop_one "$port"; done ;;
    status)
      ((${#ports[@]})) || { echo "no video_api instances"; exit 1; }
      for port in "${ports[@]}"; do status_one "$port" || status=1; done ;;
    restart)
      for port in "${ports[@]}"; do stop_one "$port"; done
      mapfile -t ports < <(instance_ports)
      for i in "${!ports[@]}"; do start_one "${ports[$i]}" "${gpus[$i]:-}" || status=1; done ;;
    *) die "unknown command $command (start, stop, status, restart)" ;;
  esac
  return "$status"
}

main "$@"
