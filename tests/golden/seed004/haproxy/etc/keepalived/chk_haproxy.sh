#!/bin/bash
# The seed's intent: haproxy listens on its local port, or at least its process exists.
# The listening socket (bound to the VIP, held here or not), not a connection to the VIP.
ss -Hltn 'sport = :80' 2>/dev/null | grep -q . && exit 0
pidof haproxy >/dev/null
