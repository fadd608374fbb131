#!/usr/bin/env bash
# Writes the SLS stand-in payload for the test bed into STATE_DIR:
#   hosts api (10.77.0.11), cerebro (10.77.0.12), panel (10.77.0.13), each with real units
#   (fake-service.py with /health, Type=notify) and the failover agent under its own systemd;
#   certs/ (CA + coordinator + one per host), secrets/panel_token, control/<host>/ switches,
#   and sls.yaml, the coordinator config for these hosts.
# Usage: sls-payload.sh STATE_DIR   (then: testbed.sh up STATE_DIR api:11 cerebro:12 panel:13)
# SLS_BOT_HOSTS=N (make bench): N more hosts bot1..botN (10.77.0.21..) running only sls-bot, for
# runs over 10 hosts (up them too: bot1:21 ...; sls_bot_hosts in sls-lib.sh lists them).
set -euo pipefail
state=$(realpath -m "$1")
bot_hosts=()
for i in $(seq "${SLS_BOT_HOSTS:-0}"); do bot_hosts+=("bot$i"); done
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin=${FO_BIN:-$repo/build/bin}
py=/usr/bin/python3
fake=$repo/tests/testbed/fake-service.py

mkdir -p "$state/secrets" "$state/control"
[ -f "$state/secrets/panel_token" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$state/secrets/panel_token"
chmod 600 "$state/secrets/panel_token"
bash "$repo/deploy/make-certs.sh" "$state/certs" --coordinator coordinator --client operator intruder \
  --server api cerebro panel "${bot_hosts[@]}" >/dev/null
# A second CA, for the "certificate from another CA" test.
bash "$repo/deploy/make-certs.sh" "$state/certs-other" --coordinator coordinator >/dev/null

# service NAME PORT [extra [Unit] lines] -> unit text
service_unit() {
  local host=$1 name=$2 port=$3 extra=${4:-}
  cat <<UNIT
[Unit]
Description=SLS $name (test stand-in on $host)
StartLimitIntervalSec=0
$extra
[Service]
Type=notify
NotifyAccess=main
ExecStart=$py $fake --name $name --port $port --control-dir $state/control/$host --token-file $state/secrets/panel_token
TimeoutStartSec=20s
TimeoutStopSec=10s
UNIT
}

# The agent runs under the same hardening as deploy/failover-agent.service (copied from it), so
# every e2e test also proves that hardening leaves it working.
agent_unit() {
  local host=$1 ip=$2
  cat <<UNIT
[Unit]
Description=failover agent ($host)
[Service]
Type=simple
ExecStart=$bin/failover-agent --config $state/hosts/$host/agent.yaml --metrics-listen $ip:9465 --metrics-allow-remote
Restart=always
RestartSec=200ms
Environment=FAILOVER_LOG_LEVEL=info
RuntimeDirectory=failover-agent
RuntimeDirectoryPreserve=yes
ReadWritePaths=$state/hosts/$host
UNIT
  sed -n '/^NoNewPrivileges=/,/^UMask=/p' "$repo/deploy/failover-agent.service"
  # A tree or state dir under /tmp or /var/tmp (a clone there): the host sees it (testbed.sh binds
  # it), but PrivateTmp=yes gives the agent a fresh /tmp; bind it into that too (read-only, but
  # the host's own dir for its audit log), so the hardening stays as deployed.
  local d
  for d in "$repo" "$state"; do
    if [[ $d == /tmp/* || $d == /var/tmp/* ]]; then echo "BindReadOnlyPaths=$d"; fi
  done
  if [[ $state == /tmp/* || $state == /var/tmp/* ]]; then echo "BindPaths=$state/hosts/$host"; fi
}

agent_config() {
  local host=$1 ip=$2
  cat <<YAML
host: $host
listen: $ip:7700
allow_units: ["sls-*.service", "sls-*.timer"]
secrets:
  panel_token: {file: $state/secrets/panel_token}
tls:
  ca: $state/certs/ca.pem
  cert: $state/certs/$host.pem
  key: $state/certs/$host.key
allowed_clients: [coordinator]
audit_log: $state/hosts/$host/audit.log
state_dir: /run/failover-agent
# restic probes (tests/e2e/gates_e2e_test.cc makes the repository and the password files).
restic_repositories:
  backups: {repository: $state/restic/$host, password_file: $state/secrets/restic_password}
  backups-wrong-password: {repository: $state/restic/$host, password_file: $state/secrets/restic_wrong_password}
YAML
}

write_host() {
  local host=$1 ip=$2; shift 2
  local dir=$state/hosts/$host
  mkdir -p "$dir/units" "$state/control/$host"
  agent_unit "$host" "$ip" > "$dir/units/failover-agent.service"
  agent_config "$host" "$ip" > "$dir/agent.yaml"
  : > "$dir/boot-units"
  echo failover-agent.service >> "$dir/boot-units"
  for spec in "$@"; do
    local name=${spec%%:*} port=${spec#*:}
    service_unit "$host" "$name" "$port" > "$dir/units/$name.service"
    echo "$name.service" >> "$dir/boot-units"
  done
}

write_host api 10.77.0.11 sls-api:8080 sls-bot:8081
write_host cerebro 10.77.0.12 sls-cerebro:8082 sls-bot:8081
write_host panel 10.77.0.13 sls-panel:8083 sls-api:8080
for i in "${!bot_hosts[@]}"; do write_host "${bot_hosts[$i]}" "10.77.0.$((21 + i))" sls-bot:8081; done

# cerebro also runs a unit with systemd's default-like start limit, for start-limit-hit tests.
service_unit cerebro sls-worker 8084 "" | sed 's/^StartLimitIntervalSec=0$/StartLimitIntervalSec=60s\nStartLimitBurst=3/' \
  > "$state/hosts/cerebro/units/sls-worker.service"
echo sls-worker.service >> "$state/hosts/cerebro/boot-units"

# api also runs a template for hosts with many units (over one GetState's 64): tiny instances,
# sls-extra@1.service ... (not started at boot; the tests that use them start and stop them).
cat > "$state/hosts/api/units/sls-extra@.service" <<UNIT
[Unit]
Description=SLS extra instance %i (test stand-in: many units on one host)
StartLimitIntervalSec=0
[Service]
Type=simple
ExecStart=/bin/sleep infinity
TimeoutStartSec=5s
TimeoutStopSec=5s
UNIT

# api's slow-stopping unit (3 s ExecStop), to freeze the agent mid-step in lease tests.
cat > "$state/hosts/api/units/sls-slowstop.service" <<UNIT
[Unit]
Description=SLS slow stop (test stand-in: a stop that takes 3 s)
StartLimitIntervalSec=0
[Service]
Type=simple
ExecStart=/bin/sleep infinity
ExecStop=/bin/sleep 3
TimeoutStartSec=5s
TimeoutStopSec=5s
UNIT
echo sls-slowstop.service >> "$state/hosts/api/boot-units"

# panel's monitor guard: a timer whose oneshot checks the panel's health (tests/testbed/sls-monitor.py:
# an outage of ~1.6 s fails it, a restart's blip does not).
cat > "$state/hosts/panel/units/sls-monitor.service" <<UNIT
[Unit]
Description=SLS monitor guard (checks the panel)
[Service]
Type=oneshot
ExecStart=$py $repo/tests/testbed/sls-monitor.py --url http://127.0.0.1:8083/health --token-file $state/secrets/panel_token
UNIT
cat > "$state/hosts/panel/units/sls-monitor.timer" <<UNIT
[Unit]
Description=SLS monitor guard timer
[Timer]
OnActiveSec=1s
OnUnitActiveSec=5s
AccuracySec=100ms
[Install]
WantedBy=timers.target
UNIT
echo sls-monitor.timer >> "$state/hosts/panel/boot-units"

cat > "$state/sls.yaml" <<YAML
# Coordinator config for the test bed (generated by tests/testbed/sls-payload.sh).
defaults:
  mode: rolling
  failure_policy: abort
  max_parallel: 1
  job_timeout_ms: 20000
  lease_ms: 60000
  call_timeout_ms: 3000
hosts:
  api:     {agent: "10.77.0.11:7700", units: [sls-api.service, sls-bot.service]}
  cerebro: {agent: "10.77.0.12:7700", units: [sls-cerebro.service, sls-bot.service, sls-worker.service]}
  panel:   {agent: "10.77.0.13:7700", units: [sls-panel.service, sls-api.service, sls-monitor.timer]}
$(for i in "${!bot_hosts[@]}"; do echo "  ${bot_hosts[$i]}: {agent: \"10.77.0.$((21 + i)):7700\", units: [sls-bot.service]}"; done)
services:
  - name: sls-bot
    probes:
      - {name: bot-health, http: {url: "http://127.0.0.1:8081/health", bearer_secret: panel_token}, timeout_ms: 1000, deadline_ms: 10000}
  - name: sls-cerebro
    probes:
      - {name: cerebro-health, http: {url: "http://127.0.0.1:8082/health", bearer_secret: panel_token}, timeout_ms: 1000, deadline_ms: 5000}
  - name: sls-api
    probes:
      - {name: api-health, http: {url: "http://127.0.0.1:8080/health", bearer_secret: panel_token}, timeout_ms: 1000, deadline_ms: 10000}
      - {name: api-port, tcp: {host: 127.0.0.1, port: 8080}, timeout_ms: 500, deadline_ms: 5000}
  - name: sls-panel
    probes:
      - {name: panel-health, http: {url: "http://127.0.0.1:8083/health", bearer_secret: panel_token}, timeout_ms: 1000, deadline_ms: 10000}
  - name: sls-worker
    probes:
      - {name: worker-health, http: {url: "http://127.0.0.1:8084/health", bearer_secret: panel_token}, timeout_ms: 1000, deadline_ms: 5000}
order: [sls-bot, sls-cerebro, sls-api]
guards:
  - host: panel
    probe: {name: monitor-guard, unit: {unit: sls-monitor.timer, result_unit: sls-monitor.service}, timeout_ms: 1000, deadline_ms: 5000}
# --- coordinator-only: a config sent with a request (failoverctl -c) may not set what follows ---
health_check:
  api_base: {env: API_BASE, default: "http://10.77.0.11:8080"}
  path: /health
  token: {env: PANEL_TOKEN}
  allowed_api_bases: ["http://10.77.0."]   # failoverctl --api-base / make failover-sim API_BASE=
  timeout_ms: 2000
  deadline_ms: 10000
tls:
  ca: $state/certs/ca.pem
  cert: $state/certs/coordinator.pem
  key: $state/certs/coordinator.key
reports_dir: $state/reports
YAML
echo "payload written to $state"
