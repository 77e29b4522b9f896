#!/bin/sh
echo "$(date +%s.%N) $1 $2 $3 $4" >> /var/log/keepalived-notify.log
