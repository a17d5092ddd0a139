# SPDX-License-Identifier: MIT
# Draws jobpool-bench results (its --csv output) as two bar charts:
#   gnuplot -e "csv='doc/bench.csv'; outdir='doc'" tools/bench/plot.gp
# writes outdir/bench-throughput.png (job rates, higher is better) and
# outdir/bench-latency.png (wake-up latency, lower is better).  Each
# workload has a group of bars for each machine state, near and far; bars
# are medians over the runs in that state, the error bars span min..max.
# A peer, a workload or a state missing from the CSV simply has no bars.
#
# CSV columns: 1 workload, 2 metric, 3 peer, 4 unit, 5 higher_is_better,
# 6 runs, 7 median, 8 min, 9 max, 10 ratio, 11 ratio_to, 12 state.

if (!exists("csv")) csv = 'doc/bench.csv'
if (!exists("outdir")) outdir = 'doc'

set datafile separator ','
set terminal pngcairo size 1400,560 noenhanced font ',10'
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top left
set border 3
set xtics nomirror scale 0
set ytics nomirror

peers = 'jobpool textbook glib cthreadpool libuv onetbb'
np = words(peers)

# 1-based position of a word in a list, 0 if absent.
index_of(list, w) = sum [i=1:words(list)] (word(list, i) eq w ? i : 0)

# A chart has groups, one per "workload/metric/state", of one bar per peer.
# For the current CSV row: its x, and a column's value, both NaN when the
# row belongs to no group (so it neither draws nor stretches the axes).
group(groups) = index_of(groups, strcol(1).'/'.strcol(2).'/'.strcol(12))
xpos(groups) = (g = group(groups), p = index_of(peers, strcol(3)), \
                g > 0 && p > 0 ? (g - 1) * (np + 1) + p : NaN)
val(groups, c) = group(groups) > 0 ? column(c) : NaN
center(g) = (g - 1) * (np + 1) + (np + 1) / 2.0

# Throughput.
groups = 'throughput-1p/rate/near throughput-1p/rate/far throughput-2p/rate/near throughput-2p/rate/far throughput-4p/rate/near throughput-4p/rate/far throughput-8p/rate/near throughput-8p/rate/far tiny-work/rate/near tiny-work/rate/far memory-drain/drain/near memory-drain/drain/far'
labels = '1p,near 1p,far 2p,near 2p,far 4p,near 4p,far 8p,near 8p,far 1-us,near 1-us,far drain,near drain,far'
set output outdir.'/bench-throughput.png'
set title 'jobpool-bench: job throughput (median; bars: min..max; higher is better)'
set ylabel 'jobs per second'
set format y '%.1s%c'
set yrange [0:*]
set xrange [0:words(groups) * (np + 1)]
set xtics ()
do for [g=1:words(groups)] { set xtics add (word(labels, g) center(g)) }
plot csv every ::1 using (xpos(groups)):(val(groups, 7)):(index_of(peers, strcol(3))) \
         with boxes lc variable notitle, \
     csv every ::1 using (xpos(groups)):(val(groups, 7)):(val(groups, 8)):(val(groups, 9)) \
         with yerrorbars lc rgb 'black' pt 7 ps 0 notitle, \
     for [i=1:np] NaN with boxes lc i title word(peers, i)

# Wake-up latency.
groups = 'wakeup-latency/p50@200us/near wakeup-latency/p50@200us/far wakeup-latency/p99@200us/near wakeup-latency/p99@200us/far wakeup-latency/p50@2ms/near wakeup-latency/p50@2ms/far wakeup-latency/p99@2ms/near wakeup-latency/p99@2ms/far'
labels = 'p50,200us,near p50,200us,far p99,200us,near p99,200us,far p50,2ms,near p50,2ms,far p99,2ms,near p99,2ms,far'
set output outdir.'/bench-latency.png'
set title 'jobpool-bench: submit-to-start latency on an idle pool (median; bars: min..max; lower is better)'
set ylabel 'microseconds (log scale)'
set format y '%g'
set logscale y 10
set yrange [*:*]
set xrange [0:words(groups) * (np + 1)]
set xtics ()
do for [g=1:words(groups)] { set xtics add (word(labels, g) center(g)) }
plot csv every ::1 using (xpos(groups)):(val(groups, 7)):(index_of(peers, strcol(3))) \
         with boxes lc variable notitle, \
     csv every ::1 using (xpos(groups)):(val(groups, 7)):(val(groups, 8)):(val(groups, 9)) \
         with yerrorbars lc rgb 'black' pt 7 ps 0 notitle, \
     for [i=1:np] NaN with boxes lc i title word(peers, i)
