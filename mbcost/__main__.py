from mbcost.cli import run

run()
