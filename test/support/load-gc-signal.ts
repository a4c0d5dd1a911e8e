/**
 * Preloaded into a gateway process by the load test (NODE_OPTIONS `--import=tsx --import=<this>`):
 * on SIGUSR2 the process runs a full garbage collection, so that the test can read from the
 * gateway's own /metrics what it really holds at that moment. It changes nothing else.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc') as () => void;
process.on('SIGUSR2', () => collect());
