#!/bin/sh
# kosmi-relay's container entrypoint (Dockerfile: ENTRYPOINT tini -- this script).
#
# The relay always runs as the user node (uid 1000). Started as root (the image's default), this
# script first gives the data dir to node when node could not use it, which is what a bind-mounted
# ./data that Docker or the host created as root looks like, then drops to node with util-linux's
# setpriv. Started as any other user (`docker run --user 1000`, compose `user:`), it changes
# nothing and runs the command as that user.
set -eu

DATA_DIR=${RELAY_DATA_DIR:-/app/data}

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$DATA_DIR"
  # Anything in the data dir not owned by node (the dir itself when the host made it, or a file a
  # root `docker exec` left) would stop the relay from writing its state: hand it all to node.
  if [ -n "$(find "$DATA_DIR" -xdev ! -user node -print -quit)" ]; then
    echo "docker-entrypoint: giving $DATA_DIR to node (uid 1000)" >&2
    chown -R node:node "$DATA_DIR"
  fi
  export HOME=/home/node
  exec setpriv --reuid=node --regid=node --init-groups -- "$@"
fi
exec "$@"
