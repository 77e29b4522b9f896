#!/bin/sh
ÿþ
