#!/bin/bash
# The seed's intent: haproxy answers on its port, or at least its process exists.
/usr/bin/timeout 2 bash -c '</dev/tcp/192.168.64.200/80' 2>/dev/null && exit 0
pidof haproxy >/dev/null
