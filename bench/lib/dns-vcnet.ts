// vcnet's DNS server for the DNS benchmark, in a process of its own (forked by dns-servers.ts, never
// imported): the ClusterIndex of the virtual cluster behind a ClusterResolver behind a DnsServer,
// wired the way the cluster zone is served (src/dns/index.ts), on 127.0.0.1. Nothing else is in the
// chain: every query of the benchmark is inside the zone, as with CoreDNS's Corefile there (no
// `forward`). Sends { port } over IPC once the index has listed everything and the server listens.
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { ClusterIndex, ClusterResolver, DnsServer } from '../../src/dns/index.ts';
import { createLogger } from '../../src/observability/logger.ts';

const { values } = parseArgs({ options: { kubeconfig: { type: 'string' }, port: { type: 'string' } } });
if (values.kubeconfig === undefined || values.port === undefined) throw new Error('usage: dns-vcnet.ts --kubeconfig FILE --port N');

const logger = createLogger('info');
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(values.kubeconfig);
const index = new ClusterIndex({ kubeConfig, logger });
await index.start();
const server = new DnsServer({ host: '127.0.0.1', port: Number(values.port), resolver: new ClusterResolver({ index }), logger });
await server.listen();
process.send?.({ port: server.address().port });

const shutdown = async (): Promise<void> => {
  await server.close();
  await index.stop();
  process.exit(0);
};
process.once('SIGTERM', () => { void shutdown(); });
// Dies with the benchmark: the IPC channel closes when the parent exits, however it exits.
process.on('disconnect', () => process.exit(0));
