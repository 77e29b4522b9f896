#! /Bin/bash
A = 'PS-C haproxy -- no-header | wc-L'
If [$ A-eq 0]; then
/Usr/local/sbin/haproxy-f/etc/haproxy. cfg
Echo "Haproxystart"
Sleep 3
If ['PS-C haproxy -- no-header | wc-L'-eq 0]; then
/Etc/init. d/keepalived stop
Echo "keepalived stop"
Fi
Fi
