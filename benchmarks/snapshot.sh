#!/usr/bin/env bash
# Before/after check for refactors: run a fixed list of mbcost commands and save
# their outputs, so that `diff -r BEFORE AFTER` shows exactly what a change
# altered (a behaviour-preserving change must leave every file byte-identical,
# figures and the report included; only the 'wrote PATH' lines name the folder).
#
#   git stash; benchmarks/snapshot.sh /tmp/before; git stash pop
#   benchmarks/snapshot.sh /tmp/after; diff -r /tmp/before /tmp/after
#
# Uses the python on PATH with this checkout first on PYTHONPATH.
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$1
mkdir -p "$out"
export PYTHONPATH="$repo" PYTHONHASHSEED=0 COLUMNS=200
cd "$repo"
run() { local name=$1; shift; python -m mbcost "$@" >"$out/$name.out" 2>"$out/$name.err"; echo "rc=$?" >>"$out/$name.err"; }
for m in $(python -c "from mbcost.results.zoo import model_names; print(' '.join(model_names()))"); do
  run "table-$m" table "$m"
  run "table-$m-json" table "$m" --format json
  run "table-$m-csv" table "$m" --format csv
  run "table-$m-formula" table "$m" --formula --by-type --memory
  run "table-$m-all" table "$m" --params all --count conv,fc,bn,pool,act --format json
done
run table-05-160 table --alpha 0.5 --res 160
run table-05-160-md table --alpha 0.5 --res 160 --format markdown
run table-075-rho table --alpha 0.75 --rho 0.857 --format latex
run compare compare vgg16 mobilenet
run compare-json compare vgg16 mobilenet --format json
run compare-many compare mobilenet:alpha=0.5,res=160 squeezenet alexnet googlenet --format csv
run paper paper
run paper-json paper --format json
run sweep sweep --alpha 0.25:1:0.25 --res 128:224:32
run sweep-csv sweep --alpha 0.25:1:0.05 --res 128:224:16 --format csv
run pick pick --max-madds 150M
run models models
run layer layer --k 3 --m 64 --n 128 --df 112
run report report --output "$out/report"
for f in tradeoff scaling breakdown layers; do run "plot-$f" plot $f --output "$out/plot-$f.svg"; done
echo "wrote $out"
