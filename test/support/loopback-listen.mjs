// Preloaded (node --import) into third-party servers that listen on all interfaces with no host option
// (@modelcontextprotocol/server-everything: `app.listen(PORT)`): binds them to 127.0.0.1 instead and
// reports the real address on stderr, so tests can use PORT=0 and nothing is reachable from outside.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const portOnly = (typeof args[0] === 'number' || typeof args[0] === 'string') && (args.length === 1 || typeof args[1] === 'function');
  if (portOnly) args.splice(1, 0, '127.0.0.1');
  this.once('listening', () => {
    const address = this.address();
    if (address && typeof address === 'object') process.stderr.write(`LOOPBACK_LISTENING ${address.address} ${address.port}\n`);
  });
  return listen.apply(this, args);
};
