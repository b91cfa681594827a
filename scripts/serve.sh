#!/bin/sh
# The web server and the job runner together (make run, make demo): the
# worker (`flask jobs run`) starts beside gunicorn and stops with it, so mail,
# digests, reminders and scheduled work need no cron line.
#   scripts/serve.sh BIN GUNICORN-ARGUMENTS...
set -u
BIN=$1
shift
"$BIN/flask" jobs run &
worker=$!
"$BIN/gunicorn" "$@" &
server=$!
stop() {
  kill -TERM "$server" 2>/dev/null
  kill -TERM "$worker" 2>/dev/null
}
trap stop INT TERM
# Whichever ends first ends the other: a web server without its worker (or
# the other way round) would look alive and quietly stop sending mail.
while kill -0 "$server" 2>/dev/null && kill -0 "$worker" 2>/dev/null; do
  sleep 1
done
stop
wait "$server" 2>/dev/null
status=$?
wait "$worker" 2>/dev/null
exit $status
