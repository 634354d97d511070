# Shared by scripts/soak.sh and scripts/chaos.sh (source it, then call harness_init): the build,
# a scratch folder, stopping everything on exit, free ports, waiting for a port, and throw-away
# nginx upstreams answering a small fixed body.

# harness_init NAME: installs and builds the tree scripts/test.sh builds, sets $bin (the proxy)
# and $tmp (a scratch folder), and on exit stops every background job the script started.
harness_init() {
  scripts/setup.sh --with-bench >/dev/null
  BUILD_DIR=${BUILD_DIR:-build} scripts/build.sh >/dev/null
  bin=$PWD/${BUILD_DIR:-build}/proxy/modelgate
  tmp=$(mktemp -d "/tmp/modelgate-$1.XXXXXX")
  trap harness_cleanup EXIT INT TERM
}

# Every job, not a list kept by hand: a process restarted mid-run (an upstream, Redis) is
# stopped too, so the wait cannot hang on one the list missed.
harness_cleanup() {
  local p
  for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

free_port() {  # asks the kernel for a free port (bind to 0), so parallel runs do not collide
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {  # waits up to 10 s until something accepts on 127.0.0.1:$1
  for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listening on port $1" >&2
  return 1
}

# start_nginx_upstream NAME PORT: an nginx (one process) on 127.0.0.1:PORT answering 200 with a
# 100-byte body (/cached* with Cache-Control: max-age=300). Sets $started_pid.
start_nginx_upstream() {
  local name=$1 port=$2 body
  body=$(printf 'x%.0s' $(seq 100))
  mkdir -p "$tmp/$name"
  cat > "$tmp/$name/nginx.conf" <<NGINX
daemon off; master_process off; worker_processes 1; pid $tmp/$name/nginx.pid;
error_log $tmp/$name/error.log warn;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 10000000; keepalive_timeout 300s;
  client_body_temp_path $tmp/$name/body; proxy_temp_path $tmp/$name/proxy;
  fastcgi_temp_path $tmp/$name/fcgi; uwsgi_temp_path $tmp/$name/uwsgi; scgi_temp_path $tmp/$name/scgi;
  server {
    listen 127.0.0.1:$port reuseport;
    location / { default_type text/plain; return 200 "$body"; }
    location /cached { default_type text/plain; add_header Cache-Control "max-age=300"; return 200 "$body"; }
  }
}
NGINX
  nginx -p "$tmp/$name" -c "$tmp/$name/nginx.conf" >>"$tmp/$name/error.log" 2>&1 &
  started_pid=$!
}

# wait_admin_ready PORT: until GET /readyz on the admin listener answers 200 (10 s).
wait_admin_ready() {
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "modelgate admin on port $1 never became ready" >&2
  return 1
}
