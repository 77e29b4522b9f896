#!/bin/bash
# Restart haproxy if it is gone; if that fails, stop keepalived so the VIP moves.
A=`ps -C haproxy --no-header | wc -l`
if [ $A -eq 0 ]; then
  /usr/sbin/haproxy -f /etc/haproxy/haproxy.cfg
  echo "Haproxy start"
  sleep 3
  if [ `ps -C haproxy --no-header | wc -l` -eq 0 ]; then
    # The seed runs /etc/init.d/keepalived stop; the same, by pidfile:
    kill "$(cat /run/keepalived.pid)"
    echo "keepalived stop"
  fi
fi
