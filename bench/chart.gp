# bench/chart.gp - the system benchmark as a picture: one panel per comparison.
#
#   gnuplot -e "datafile='chart.dat'; outfile='chart.png'; subtitle='host, date'" bench/chart.gp
#
# datafile is written by bench/report.awk: eight blocks (gnuplot "index" 0-7), rows of
#   "label" median min max colour         colour 0 = the broker, 1 = a peer (2 = PASS)
# Bars are medians, whiskers the min-max spread of the runs. The last panel puts every
# comparison on one scale: ratio / target, so 1 is the target and above it is a pass
# (for latency the inverse, so above 1 is still better). The last two panels are the
# broker's Kafka door beside its native protocol (drawn grey, as the reference).

set terminal pngcairo size 1500,1300 font "DejaVu Sans,10"
set output outfile
set bmargin 5
set multiplot layout 3,3 title "kafka-like broker vs peers (median of runs, whiskers min-max)\n".subtitle font ",12"

set style fill solid 0.8 border -1
set boxwidth 0.6
set grid ytics
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0
set xtics nomirror rotate by -20 scale 0
set key off
set linetype 1 lc rgb "#1f77b4"
set linetype 2 lc rgb "#999999"
set linetype 3 lc rgb "#2ca02c"
set linetype 4 lc rgb "#d62728"

label(v) = v > 0 ? sprintf(v >= 100 ? "%.0f" : "%.3g", v) : "n/a"
panel(i, t, y) = sprintf("set title '%s'; set ylabel '%s'", t, y)

eval panel(0, "batched produce, 100 B records", "million records/s")
plot datafile index 0 using 0:2:($5+1):xtic(1) with boxes lc variable, \
     '' index 0 using 0:2:3:4 with yerrorbars lc rgb "black" pt 0, \
     '' index 0 using 0:4:(label($2)) with labels offset 0,0.7

eval panel(1, "durable produce (fsync before ack)", "million records/s")
plot datafile index 1 using 0:2:($5+1):xtic(1) with boxes lc variable, \
     '' index 1 using 0:2:3:4 with yerrorbars lc rgb "black" pt 0, \
     '' index 1 using 0:4:(label($2)) with labels offset 0,0.7

eval panel(2, "consume from the page cache", "MB/s")
plot datafile index 2 using 0:2:($5+1):xtic(1) with boxes lc variable, \
     '' index 2 using 0:2:3:4 with yerrorbars lc rgb "black" pt 0, \
     '' index 2 using 0:4:(label($2)) with labels offset 0,0.7

eval panel(3, "round trip: client on the server CPU (same) or not (cross)", "microseconds (log scale)")
set logscale y
set yrange [1:*]
set offsets 0, 0, 0, 0
plot datafile index 3 using 0:2:($5+1):xtic(1) with boxes lc variable, \
     '' index 3 using 0:2:3:4 with yerrorbars lc rgb "black" pt 0, \
     '' index 3 using 0:4:(label($2)) with labels offset 0,0.7
unset logscale y
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0

eval panel(4, "librdkafka client: our broker vs its mock cluster", "million records/s")
plot datafile index 4 using 0:2:($5+1):xtic(1) with boxes lc variable, \
     '' index 4 using 0:2:3:4 with yerrorbars lc rgb "black" pt 0, \
     '' index 4 using 0:4:(label($2)) with labels offset 0,0.7

eval panel(6, "Kafka door: produce (grey: native protocol)", "million records/s")
plot datafile index 6 using 0:2:($5+1):xtic(1) with boxes lc variable, \
     '' index 6 using 0:2:3:4 with yerrorbars lc rgb "black" pt 0, \
     '' index 6 using 0:4:(label($2)) with labels offset 0,0.7

eval panel(7, "Kafka door: consume (grey: native protocol)", "MB/s")
plot datafile index 7 using 0:2:($5+1):xtic(1) with boxes lc variable, \
     '' index 7 using 0:2:3:4 with yerrorbars lc rgb "black" pt 0, \
     '' index 7 using 0:4:(label($2)) with labels offset 0,0.7

eval panel(5, "ratio / target (1 = target met; green PASS, red MISS)", "")
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lc rgb "black" dt 2
set xtics rotate by -35
plot datafile index 5 using 0:2:($5 == 2 ? 3 : 4):xtic(1) with boxes lc variable, \
     '' index 5 using 0:2:(label($2)) with labels offset 0,0.7
unset arrow 1

unset multiplot
