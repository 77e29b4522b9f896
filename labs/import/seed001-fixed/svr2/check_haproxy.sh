#!/bin/sh
if [ -z "`pidof haproxy`" ]; then
  systemctl stop keepalived
  exit 1
fi
