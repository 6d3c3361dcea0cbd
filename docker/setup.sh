#!/bin/sh
# One-shot: migrate the database, register the demo node once (its secrets go to the shared
# secrets volume), and render Mosquitto's password file and ACL from the registry.
set -eu
CFG=/etc/gridwatch/cloud.yaml
gridwatch-cloud migrate -c "$CFG"
if [ ! -s /secrets/edge-1.env ]; then
  gridwatch-cloud nodes add edge-1 --site suzhou-7 --description "compose demo node" -c "$CFG" \
    | sed -n 's/^  \(MQTT_PASSWORD\|GRIDWATCH_TOKEN\)=/export \1=/p' > /secrets/edge-1.env
fi
if [ -n "${ADMIN_PASSWORD:-}" ]; then
  gridwatch-cloud users add admin --role admin --password-env ADMIN_PASSWORD -c "$CFG" || true
fi
gridwatch-cloud mosquitto-config --out /mosquitto-auth -c "$CFG"
chown 1883:1883 /mosquitto-auth/passwd /mosquitto-auth/acl  # the eclipse-mosquitto image runs as uid 1883
