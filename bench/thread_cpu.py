#!/usr/bin/env python3
"""CPU time per request of each thread of a command and its descendants (and of the
target server, and of other processes and their descendants, when their pids are given): samples /proc/PID/task/*/stat every 0.1 s while
the command runs, keeps each thread's last figure, divides by the requests the run's
JSON report counts. Figures per request do not depend on how busy the machine is.
  bench/thread_cpu.py REPORT.json [--server PID] [--also PID]... -- COMMAND...
"""
import json, os, subprocess, sys, time

def tasks(pid):
    try:
        return os.listdir(f'/proc/{pid}/task')
    except OSError:
        return []

def children(pid):
    out = []
    for t in tasks(pid):
        try:
            out += open(f'/proc/{pid}/task/{t}/children').read().split()
        except OSError:
            pass
    return [int(c) for c in out]

def sample(pid, seen, label):
    for t in tasks(pid):
        try:
            stat = open(f'/proc/{pid}/task/{t}/stat').read()
        except OSError:
            continue
        name = stat[stat.index('(') + 1:stat.rindex(')')]
        f = stat[stat.rindex(')') + 2:].split()
        seen[(label, int(t))] = (name, int(f[11]), int(f[12]))  # utime, stime (ticks)
    for c in children(pid):
        comm = open(f'/proc/{c}/comm').read().strip() if os.path.exists(f'/proc/{c}/comm') else '?'
        sample(c, seen, comm)

def main():
    args = sys.argv[1:]
    report = args.pop(0)
    server, also = None, []
    while args[0] in ('--server', '--also'):
        if args[0] == '--server':
            server = int(args[1])
        else:
            also.append(int(args[1]))
        args = args[2:]
    assert args.pop(0) == '--'
    tick = os.sysconf('SC_CLK_TCK')
    seen, base = {}, {}
    if server:
        sample(server, base, 'server')
    for a in also:
        sample(a, base, open(f'/proc/{a}/comm').read().strip())
    # Output is read at the end: loads --quiet and wrk print a few KiB, under a pipe's 64 KiB.
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    while proc.poll() is None:
        sample(proc.pid, seen, os.path.basename(args[0]))
        if server:
            sample(server, seen, 'server')
        for a in also:
            sample(a, seen, open(f'/proc/{a}/comm').read().strip())
        time.sleep(0.1)
    if server:
        sample(server, seen, 'server')
    out = proc.stdout.read()
    if report == 'wrk':
        n = int(next(l for l in out.splitlines() if 'requests in' in l).split()[0])
        seconds = float(next(l for l in out.splitlines() if 'requests in' in l).split()[3].rstrip('s,'))
    else:
        d = json.load(open(report))['summary']
        n, seconds = d['requests'], d['durationSeconds']
    rows = {}
    for key, (name, u, s) in seen.items():
        b = base.get(key, (name, 0, 0))
        k = (key[0], name)
        ru, rs = rows.get(k, (0, 0))
        rows[k] = (ru + u - b[1], rs + s - b[2])
    print(f'requests {n}  req/s {n / seconds:.0f}')
    print(f'{"process":14} {"thread":16} {"user_us/req":>12} {"sys_us/req":>12}')
    tu = ts = 0
    for (p, name), (u, s) in sorted(rows.items(), key=lambda kv: -(kv[1][0] + kv[1][1])):
        if u + s == 0:
            continue
        uu, ss = u * 1e6 / tick / n, s * 1e6 / tick / n
        if p != 'server':
            tu += uu; ts += ss
        print(f'{p:14} {name:16} {uu:12.3f} {ss:12.3f}')
    print(f'{"loads total":31} {tu:12.3f} {ts:12.3f}')
    sys.exit(proc.returncode)

main()
