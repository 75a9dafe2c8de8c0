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
    case WIRE_ERR_IP6_TRUNCATED:
        return "IPv6 header truncated";
    case WIRE_ERR_IP6_VERSION:
        return "IPv6 version is not 6";
    case WIRE_ERR_IP6_PAYLOAD_LEN:
        return "IPv6 payload length past the buffer";
    case WIRE_ERR_IP6_EXT_TRUNCATED:
        return "IPv6 extension header truncated";
    case WIRE_ERR_IP6_EXT_CHAIN:
        return "IPv6 extension header chain too long";
    case WIRE_ERR_IP6_HBH_NOT_FIRST:
        return "IPv6 hop-by-hop header not first";
    case WIRE_ERR_IP6_OPT_TRUNCATED:
        return "IPv6 option truncated";
    case WIRE_ERR_IP6_OPT_PAD:
        return "IPv6 padding option malformed";
    case WIRE_ERR_IP6_OPT_UNKNOWN:
        return "IPv6 unrecognised option to discard";
    case WIRE_ERR_IP6_RH0:
        return "IPv6 routing header type 0";
    case WIRE_ERR_IP6_RH_UNKNOWN:
        return "IPv6 routing header of an unknown type";
    case WIRE_ERR_IP6_FRAG_LEN:
        return "IPv6 fragment length not a multiple of 8";
    case WIRE_ERR_IP6_FRAG_END:
        return "IPv6 fragment ends past 65535";
    case WIRE_ERR_IP6_FRAG_CHAIN:
        return "IPv6 first fragment lacks the header chain";
    case WIRE_ERR_ICMP6_TRUNCATED:
        return "ICMPv6 message truncated";
    case WIRE_ERR_ICMP6_CHECKSUM:
        return "ICMPv6 checksum mismatch";
    case WIRE_ERR_ICMP6_ERR_PAYLOAD:
        return "ICMPv6 error quotes less than an IPv6 header";
    case WIRE_ERR_ND_TYPE:
        return "not a neighbor discovery message";
    case WIRE_ERR_ND_HOP_LIMIT:
        return "ND hop limit is not 255";
    case WIRE_ERR_ND_CODE:
        return "ND code is not 0";
    case WIRE_ERR_ND_TRUNCATED:
        return "ND message truncated";
    case WIRE_ERR_ND_OPT_ZERO_LEN:
        return "ND option of length 0";
    case WIRE_ERR_ND_OPT_TRUNCATED:
        return "ND option runs past the message";
    case WIRE_ERR_ND_SRC:
        return "ND source is not link-local";
    case WIRE_ERR_ND_TARGET:
        return "ND target is multicast";
    case WIRE_ERR_ND_DAD:
        return "ND from the unspecified address malformed";
    case WIRE_ERR_ND_NA_SOLICITED:
        return "ND solicited advertisement to multicast";
    case WIRE_ERR_ND_REDIRECT:
        return "ND redirect destination or target invalid";
    case WIRE_ERR_DNS_TRUNCATED:
        return "DNS message truncated";
    case WIRE_ERR_DNS_LABEL_TYPE:
        return "DNS label of a reserved type";
    case WIRE_ERR_DNS_POINTER:
        return "DNS compression pointer invalid";
    case WIRE_ERR_DNS_NAME_LEN:
        return "DNS name longer than 255 octets";
    case WIRE_ERR_DNS_LABEL_LEN:
        return "DNS label empty or longer than 63 octets";
    case WIRE_ERR_DNS_TEXT:
        return "DNS name text has a bad escape";
    case WIRE_ERR_DNS_NO_ROOM:
        return "DNS message does not fit the buffer";
    case WIRE_ERR_DNS_NOT_RESPONSE:
        return "DNS message is not a query response";
    case WIRE_ERR_DNS_ID:
        return "DNS response id does not match";
    case WIRE_ERR_DNS_QUESTION:
        return "DNS response question does not match";
    case WIRE_ERR_DNS_RDATA:
        return "DNS record data invalid for its type";
    case WIRE_ERR_DHCP_TRUNCATED:
        return "DHCP message truncated";
    case WIRE_ERR_DHCP_OP:
        return "DHCP op is neither request nor reply";
    case WIRE_ERR_DHCP_HLEN:
        return "DHCP hardware address length above 16";
    case WIRE_ERR_DHCP_COOKIE:
        return "DHCP magic cookie missing";
    case WIRE_ERR_DHCP_OPT_TRUNCATED:
        return "DHCP option runs past its field";
    case WIRE_ERR_DHCP_NO_END:
        return "DHCP options without an End option";
    case WIRE_ERR_DHCP_OVERLOAD:
        return "DHCP option overload value invalid";
    case WIRE_ERR_DHCP_OPT_BADLEN:
        return "DHCP option has the wrong length for its code";
    case WIRE_ERR_DHCP_NOT_REPLY:
        return "DHCP answer is not a BOOTREPLY";
    case WIRE_ERR_DHCP_XID:
        return "DHCP answer has another transaction id";
    case WIRE_ERR_DHCP_CHADDR:
        return "DHCP answer for another hardware address";
    case WIRE_ERR_DHCP_MSG_TYPE:
        return "DHCP message type missing or unexpected";
    case WIRE_ERR_DHCP_NO_SERVER_ID:
        return "DHCP answer without a server identifier";
    case WIRE_ERR_DHCP_NO_LEASE:
        return "DHCP answer without a lease time";
    case WIRE_ERR_COUNT:
        break;
    }
    return "unknown wire error";
}
