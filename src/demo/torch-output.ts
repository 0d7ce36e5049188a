// What PyTorch and torchrun print, as line templates shared by the demo's simulated ranks and the
// benchmark's log generator (bench/synthetic-log.ts), plus the seeded PRNG both draw from, so the
// two speak the same dialect and a change to one wording changes both.

/** A small deterministic PRNG (mulberry32): the same seed gives the same sequence on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RootCause {
  /** The training script as torchrun names it (`/workspace/train.py`). */
  script: string;
  /** torchrun's own stamp: `2024-11-27_10:41:02`. */
  time: string;
  host: string;
  rank: number;
  localRank: number;
  exitCode: number;
  pid: number;
}

/** torchrun's stamp for the root-cause table: UTC to the second, `_` between date and time. */
export function torchrunStamp(when: Date): string {
  return when.toISOString().slice(0, 19).replace('T', '_');
}

/**
 * torchrun's report when a worker failed (torch 2.x): the launcher's own traceback ending in
 * ChildFailedError, then the failure table whose `[0]:` is a list position, not a rank.
 */
export function childFailedReportLines(cause: RootCause): string[] {
  return [
    'Traceback (most recent call last):',
    '  File "/usr/local/bin/torchrun", line 8, in <module>',
    '    sys.exit(main())',
    '  File "/usr/local/lib/python3.11/site-packages/torch/distributed/run.py", line 919, in main',
    '    run(args)',
    '  File "/usr/local/lib/python3.11/site-packages/torch/distributed/launcher/api.py", line 269, in launch_agent',
    '    raise ChildFailedError(',
    'torch.distributed.elastic.multiprocessing.errors.ChildFailedError: ',
    '============================================================',
    `${cause.script} FAILED`,
    '------------------------------------------------------------',
    'Failures:',
    '  <NO_OTHER_FAILURES>',
    '------------------------------------------------------------',
    'Root Cause (first observed failure):',
    '[0]:',
    `  time      : ${cause.time}`,
    `  host      : ${cause.host}`,
    `  rank      : ${cause.rank} (local_rank: ${cause.localRank})`,
    `  exitcode  : ${cause.exitCode} (pid: ${cause.pid})`,
    '  error_file: <N/A>',
    '  traceback : To enable traceback see: https://pytorch.org/docs/stable/elastic/errors.html',
    '============================================================',
  ];
}
