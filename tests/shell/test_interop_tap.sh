#!/bin/bash
# tests/shell/test_interop_tap.sh: every case of test_interop_tun.sh (Linux
# clients and servers, bulk transfers, impairment, refused, reset, half-open
# discovery, tshark-clean captures, errors) over a TAP device: Ethernet
# frames, the kernel resolving tern's address with ARP (RFC 826) and tern
# resolving the kernel's.
#
# Usage: bash test_interop_tap.sh <tern binary> <source dir>
# EVIDENCE: RFC 826 (ARP request and reply against Linux), RFC 894
TERN_LINK=tap exec bash "$(dirname "$0")/test_interop_tun.sh" "$@"
