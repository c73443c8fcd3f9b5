#!/usr/bin/perl
# An independent SMSC for Warta's interoperability tests, built on Debian's
# libnet-smpp-perl (Net::SMPP), which shares no code with Warta.
#
# Usage: net_smpp_smsc.pl SYSTEM_ID PASSWORD
#
# It listens on 127.0.0.1 on an ephemeral port, prints "PORT <n>" on stdout,
# accepts ONE connection, and then prints one JSON line per PDU it receives.
# On bind it checks the credentials (ESME_RINVPASWD = 0x0E on a wrong
# password).  Each submit_sm is answered with message id "NS<counter>"; after
# the first submit_sm it sends two deliver_sm: a mobile-originated message and
# a delivery receipt (appendix-B text, esm_class 0x04, receipted_message_id and
# message_state TLVs) for the id it gave.  It exits after unbind or EOF.
use strict;
use warnings;
use Net::SMPP;
use JSON::PP;

$| = 1;
my ($want_id, $want_pw) = @ARGV;
my $json = JSON::PP->new->canonical(1);

my $listener = Net::SMPP->new_listen('127.0.0.1', port => 0, smpp_version => 0x34)
    or die "cannot listen: $!";
print "PORT " . $listener->sockport . "\n";

my $c = $listener->accept or die "accept failed: $!";
my $counter = 0;
my $sent_deliveries = 0;

sub emit { print $json->encode({@_}) . "\n"; }

while (1) {
    my $pdu = $c->read_pdu() or last;
    my $cmd = $pdu->{cmd};
    if ($cmd == 0x00000009 || $cmd == 0x00000002 || $cmd == 0x00000001) {
        my $ok = ($pdu->{system_id} eq $want_id && $pdu->{password} eq $want_pw);
        emit(command => 'bind', command_id => $cmd, system_id => $pdu->{system_id}, ok => $ok ? JSON::PP::true : JSON::PP::false);
        my $status = $ok ? 0 : 0x0E;
        if ($cmd == 0x00000009) { $c->bind_transceiver_resp(system_id => 'NETSMPP', seq => $pdu->{seq}, status => $status); }
        elsif ($cmd == 0x00000002) { $c->bind_transmitter_resp(system_id => 'NETSMPP', seq => $pdu->{seq}, status => $status); }
        else { $c->bind_receiver_resp(system_id => 'NETSMPP', seq => $pdu->{seq}, status => $status); }
    } elsif ($cmd == 0x00000004) {
        $counter++;
        my $id = "NS$counter";
        emit(command => 'submit_sm', message_id => $id,
             source_addr => $pdu->{source_addr}, source_addr_ton => $pdu->{source_addr_ton},
             source_addr_npi => $pdu->{source_addr_npi},
             destination_addr => $pdu->{destination_addr}, dest_addr_ton => $pdu->{dest_addr_ton},
             esm_class => $pdu->{esm_class}, data_coding => $pdu->{data_coding},
             registered_delivery => $pdu->{registered_delivery},
             short_message_hex => unpack('H*', $pdu->{short_message}),
             message_payload_hex => defined $pdu->{message_payload} ? unpack('H*', $pdu->{message_payload}) : undef);
        $c->submit_sm_resp(message_id => $id, seq => $pdu->{seq});
        if (!$sent_deliveries) {
            $sent_deliveries = 1;
            $c->deliver_sm(source_addr_ton => 1, source_addr_npi => 1, source_addr => '6281234567890',
                           dest_addr_ton => 0, dest_addr_npi => 1, destination_addr => '02132881818',
                           esm_class => 0, data_coding => 0,
                           short_message => 'INFO banjir Kampung Melayu', async => 1);
            my $text = "id:$id sub:001 dlvrd:001 submit date:2501011200 done date:2501011201 stat:DELIVRD err:000 text:";
            $c->deliver_sm(source_addr_ton => $pdu->{dest_addr_ton}, source_addr_npi => $pdu->{dest_addr_npi},
                           source_addr => $pdu->{destination_addr},
                           dest_addr_ton => $pdu->{source_addr_ton}, dest_addr_npi => $pdu->{source_addr_npi},
                           destination_addr => $pdu->{source_addr},
                           esm_class => 0x04, data_coding => 0, short_message => $text,
                           receipted_message_id => "$id\0", message_state => pack('C', 2), async => 1);
        }
    } elsif ($cmd == 0x80000005) {
        emit(command => 'deliver_sm_resp', sequence => $pdu->{seq}, status => $pdu->{status});
    } elsif ($cmd == 0x00000015) {
        emit(command => 'enquire_link');
        $c->enquire_link_resp(seq => $pdu->{seq});
    } elsif ($cmd == 0x00000006) {
        emit(command => 'unbind');
        $c->unbind_resp(seq => $pdu->{seq});
        last;
    } else {
        emit(command => sprintf('0x%08x', $cmd));
        $c->generic_nack(seq => $pdu->{seq}, status => 0x03) unless $cmd & 0x80000000;
    }
}
emit(command => 'eof');
