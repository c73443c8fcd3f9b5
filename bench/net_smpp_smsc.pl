#!/usr/bin/perl
# An independent SMSC for Warta's benchmarks, built on Debian's libnet-smpp-perl (Net::SMPP),
# which shares no code with Warta (tests/interop/net_smpp_smsc.pl is its one-connection sibling
# for the interoperability tests).
#
# Usage: net_smpp_smsc.pl [--receipt-delay SECONDS] [--tps LIMIT] [--stats FILE]
#
# Listens on 127.0.0.1 on an ephemeral port and prints "PORT <n>". Each connection is served by
# a process of its own (binds of any type, any credentials). Every submit_sm is answered with
# message id "<pid>-<n>" and, --receipt-delay seconds later (default 0.5), a DELIVRD receipt.
# With --tps, each connection accepts at most LIMIT submit_sm per wall-clock second and answers
# the rest with ESME_RTHROTTLED (0x58), as operators' SMSCs do; the limit is not announced.
# On EOF, unbind or SIGTERM each connection's process writes one JSON line per second to
# --stats.<pid>: {"pid", "sec", "accepted", "throttled", "first", "last"} (first/last: the times of
# its first and last accepted submit_sm, with sub-second precision).
use strict;
use warnings;
use Net::SMPP;
use IO::Select;
use JSON::PP;
use Time::HiRes qw(time);
use Getopt::Long;
use POSIX ();

my $delay = 0.5;
my $tps = 0;
my $stats = '';
GetOptions('receipt-delay=f' => \$delay, 'tps=i' => \$tps, 'stats=s' => \$stats) or die "bad options\n";
$| = 1;
$SIG{CHLD} = 'IGNORE';

my $listener = Net::SMPP->new_listen('127.0.0.1', port => 0, smpp_version => 0x34)
    or die "cannot listen: $!";
print "PORT " . $listener->sockport . "\n";

while (1) {
    my $c = $listener->accept or next;
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) { serve($c); POSIX::_exit(0); }
    close($c);
}

sub serve {
    my ($c) = @_;
    my %per_sec;    # second => [accepted, throttled]
    my ($first, $last) = (0, 0);
    my $n = 0;
    my $done = 0;
    my $write_stats = sub {
        return if $done++ || !$stats;
        open(my $fh, '>', "$stats.$$") or return;  # one file per connection: no interleaved lines
        my $json = JSON::PP->new->canonical(1);
        for my $sec (sort { $a <=> $b } keys %per_sec) {
            print $fh $json->encode({pid => $$, sec => $sec + 0, accepted => $per_sec{$sec}[0],
                                     throttled => $per_sec{$sec}[1], first => $first, last => $last}) . "\n";
        }
        close($fh);
    };
    $SIG{TERM} = sub { $write_stats->(); POSIX::_exit(0); };
    my $sel = IO::Select->new($c);
    my @due;        # [time, message id, source ton, npi, addr, dest ton, npi, addr] in time order
    my ($window_sec, $window_n) = (0, 0);
    while (1) {
        my $now = time;
        while (@due && $due[0][0] <= $now) {
            my $r = shift @due;
            my $text = "id:$r->[1] sub:001 dlvrd:001 submit date:2612031200 done date:2612031200 stat:DELIVRD err:000 text:";
            $c->deliver_sm(source_addr_ton => $r->[5], source_addr_npi => $r->[6], source_addr => $r->[7],
                           dest_addr_ton => $r->[2], dest_addr_npi => $r->[3], destination_addr => $r->[4],
                           esm_class => 0x04, data_coding => 0, short_message => $text,
                           receipted_message_id => "$r->[1]\0", message_state => pack('C', 2), async => 1);
        }
        my $wait = @due ? $due[0][0] - time : 1.0;
        $wait = 0 if $wait < 0;
        next unless $sel->can_read($wait);
        my $pdu = $c->read_pdu() or last;
        my $cmd = $pdu->{cmd};
        if ($cmd == 0x00000004) {
            my $t = time;
            my $sec = int($t);
            if ($sec != $window_sec) { ($window_sec, $window_n) = ($sec, 0); }
            $per_sec{$sec} ||= [0, 0];
            if ($tps && $window_n >= $tps) {
                $per_sec{$sec}[1]++;
                $c->submit_sm_resp(message_id => '', seq => $pdu->{seq}, status => 0x58);
                next;
            }
            $window_n++;
            $per_sec{$sec}[0]++;
            $first ||= $t;
            $last = $t;
            $n++;
            my $id = "$$-$n";
            $c->submit_sm_resp(message_id => $id, seq => $pdu->{seq});
            push @due, [$t + $delay, $id, $pdu->{source_addr_ton}, $pdu->{source_addr_npi}, $pdu->{source_addr},
                        $pdu->{dest_addr_ton}, $pdu->{dest_addr_npi}, $pdu->{destination_addr}];
        } elsif ($cmd == 0x00000009) {
            $c->bind_transceiver_resp(system_id => 'NETSMPP', seq => $pdu->{seq});
        } elsif ($cmd == 0x00000002) {
            $c->bind_transmitter_resp(system_id => 'NETSMPP', seq => $pdu->{seq});
        } elsif ($cmd == 0x00000001) {
            $c->bind_receiver_resp(system_id => 'NETSMPP', seq => $pdu->{seq});
        } elsif ($cmd == 0x00000015) {
            $c->enquire_link_resp(seq => $pdu->{seq});
        } elsif ($cmd == 0x00000006) {
            $c->unbind_resp(seq => $pdu->{seq});
            last;
        } elsif ($cmd & 0x80000000) {
            # deliver_sm_resp, enquire_link_resp: nothing to do
        } else {
            $c->generic_nack(seq => $pdu->{seq}, status => 0x03);
        }
    }
    $write_stats->();
}
