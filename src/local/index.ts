// The local environment: real control planes built from Go modules, run on 127.0.0.1.
//
//   build.ts         ensureBinaries: go build of tools/{etcd,kube,kwok} into a cache keyed on go.mod/go.sum/ldflags
//   controlplane.ts  startControlPlane: PKI, etcd, kube-apiserver, controller manager (+ scheduler, kwok on the host)
//   env.ts           upEnv / downEnv: detached host + virtual planes recorded in <stateDir>/state.json
//   kwok.ts          kwok's kubelet-API config (logs, exec, attach, port-forward) and node objects
//   process.ts       spawning with log files, pid identity (/proc), stopping only what was started
//   net.ts           free loopback ports and small HTTP(S) calls for readiness checks
//   kubeconfig.ts    kubeconfig files with absolute paths
//   kubectl.ts       findKubectl: a kubectl within the version skew of the v1.34 planes
export { defaultCacheDir, ensureBinaries, ETCD_VERSION, KUBE_VERSION, KWOK_VERSION } from './build.ts';
export type { BinarySet, EnsureBinariesOptions } from './build.ts';
export { firstServiceIP, freshDir, startControlPlane, VIRTUAL_DISABLED_CONTROLLERS } from './controlplane.ts';
export type { ControlPlane, ControlPlaneInfo, ControlPlaneSpec, KwokInfo, PlaneProcess, TokenUser } from './controlplane.ts';
export { downEnv, readEnvState, recordProcess, spawnDetached, upEnv } from './env.ts';
export type { LocalEnvState, UpEnvOptions } from './env.ts';
export { criLogLines } from './kwok.ts';
export { findKubectl } from './kubectl.ts';
export { isPidAlive, isSameProcess, stopProcesses } from './process.ts';
export type { ProcessRecord } from './process.ts';
