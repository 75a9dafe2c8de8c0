/*
 * src/wire/wire.c: names for the wire layer's error codes.
 */
#include "wire/wire.h"

const char *
wire_err_name(enum wire_err err)
{
    switch (err) {
    case WIRE_OK:
        return "ok";
    case WIRE_ERR_IP_TRUNCATED:
        return "IPv4 header truncated";
    case WIRE_ERR_IP_VERSION:
        return "IPv4 version is not 4";
    case WIRE_ERR_IP_HLEN:
        return "IPv4 header length invalid";
    case WIRE_ERR_IP_TOTLEN:
        return "IPv4 total length invalid";
    case WIRE_ERR_IP_CHECKSUM:
        return "IPv4 header checksum mismatch";
    case WIRE_ERR_IP_OPTION:
        return "IPv4 option list malformed";
    case WIRE_ERR_ICMP_TRUNCATED:
        return "ICMP message truncated";
    case WIRE_ERR_ICMP_CHECKSUM:
        return "ICMP checksum mismatch";
    case WIRE_ERR_ICMP_ERR_PAYLOAD:
        return "ICMP error quotes less than an IPv4 header";
    case WIRE_ERR_TCP_TRUNCATED:
        return "TCP header truncated";
    case WIRE_ERR_TCP_DOFF:
        return "TCP data offset invalid";
    case WIRE_ERR_TCP_CHECKSUM:
        return "TCP checksum mismatch";
    case WIRE_ERR_TCP_OPT_LEN:
        return "TCP option length invalid";
    case WIRE_ERR_TCP_OPT_TRUNCATED:
        return "TCP option truncated before its length byte";
    case WIRE_ERR_TCP_OPT_BADLEN:
        return "TCP option has the wrong length for its kind";
    case WIRE_ERR_TCP_LENGTH:
        return "TCP segment longer than 65535 bytes";
    case WIRE_ERR_ETH_TRUNCATED:
        return "Ethernet header truncated";
    case WIRE_ERR_ETH_NOT_DIX:
        return "IEEE 802.3 length field, not an Ethernet II EtherType";
    case WIRE_ERR_ARP_TRUNCATED:
        return "ARP packet truncated";
    case WIRE_ERR_ARP_HTYPE:
        return "ARP hardware type is not Ethernet";
    case WIRE_ERR_ARP_PTYPE:
        return "ARP protocol type is not IPv4";
    case WIRE_ERR_ARP_ADDR_LEN:
        return "ARP address lengths are not 6 and 4";
    case WIRE_ERR_ARP_OP:
        return "ARP opcode is neither request nor reply";
    case WIRE_ERR_UDP_TRUNCATED:
        return "UDP header truncated";
    case WIRE_ERR_UDP_LENGTH:
        return "UDP length field invalid";
    case WIRE_ERR_UDP_CHECKSUM:
        return "UDP checksum mismatch";
    case WIRE_ERR_COUNT:
        break;
    }
    return "unknown wire error";
}
