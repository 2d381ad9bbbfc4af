#!/bin/sh
# smoke-qemu.sh DEB SYSROOT: runs a foreign-architecture ferryd from DEB under qemu-user and
# checks publish/subscribe with the host's mosquitto clients. Exit 0 on success.
set -eu
deb=$1
sysroot=$2
arch=$(dpkg-deb -f "$deb" Architecture)
case "$arch" in
  arm64) qemu=qemu-aarch64-static; machine="ARM aarch64" ;;
  armhf) qemu=qemu-arm-static; machine="32-bit LSB .* ARM, EABI5" ;;
  *) echo "smoke-qemu: no qemu for $arch" >&2; exit 2 ;;
esac
export QEMU_LD_PREFIX="$sysroot"

tmp=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
dpkg-deb -x "$deb" "$tmp/root"
ferryd=$tmp/root/usr/bin/ferryd
file "$ferryd" | grep -q "$machine" || { echo "smoke-qemu: $ferryd is not $arch" >&2; exit 1; }

"$qemu" "$ferryd" --version
"$qemu" "$ferryd" --check-config "$tmp/root/etc/ferry/ferry.toml"
"$qemu" "$tmp/root/usr/bin/ferryctl" rules check "$tmp/root/etc/ferry/rules.d"

# The packaged configuration, but on a free port and with state in the temp dir.
cat > "$tmp/ferry.toml" <<CONF
[[listener]]
protocol = "mqtt"
bind = "127.0.0.1:0"

[storage]
path = "$tmp/ferry.db"
CONF
"$qemu" "$ferryd" --config "$tmp/ferry.toml" 2> "$tmp/ferryd.log" &
pid=$!
port=""
i=0
while [ -z "$port" ] && [ $i -lt 300 ]; do  # up to 30 s: emulation is slow
  port=$(sed -n 's/.*listening protocol=mqtt .* port=\([0-9]*\).*/\1/p' "$tmp/ferryd.log")
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/ferryd.log" >&2; exit 1; }
  i=$((i + 1)); sleep 0.1
done
[ -n "$port" ] || { echo "smoke-qemu: ferryd did not listen" >&2; cat "$tmp/ferryd.log" >&2; exit 1; }
echo "smoke-qemu: $arch ferryd listening on 127.0.0.1:$port"

# A retained message first: when the subscriber prints it, its subscription is in place.
mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -r -t smoke/retained -m "retained-$arch"
mosquitto_sub -h 127.0.0.1 -p "$port" -q 1 -t 'smoke/#' -C 2 -W 60 > "$tmp/sub.out" &
sub=$!
i=0
until grep -q "retained-$arch" "$tmp/sub.out" 2>/dev/null || [ $i -ge 300 ]; do
  i=$((i + 1)); sleep 0.1
done
mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -t smoke/live -m "live-$arch"
wait "$sub"
printf 'retained-%s\nlive-%s\n' "$arch" "$arch" | cmp - "$tmp/sub.out" || {
  echo "smoke-qemu: subscriber got:" >&2; cat "$tmp/sub.out" >&2; exit 1; }

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
[ "$rc" -eq 0 ] || { echo "smoke-qemu: ferryd exited $rc after SIGTERM" >&2; cat "$tmp/ferryd.log" >&2; exit 1; }
echo "smoke-qemu: OK ($arch: version, check-config, rules check, publish/subscribe, SIGTERM exit 0)"
