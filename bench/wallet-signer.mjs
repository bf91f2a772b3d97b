// Pre-signs wallet logins in a child process (secp256k1 signing in JS is ~2,800/s per core):
// receives { wallets, first, count, baseMs } and answers with `count` request bodies, each a
// distinct (wallet, timestamp) pair, since the service accepts each pair once.
import { personalSign } from './fixtures.mjs';

process.on('message', ({ wallets, first, count, baseMs }) => {
  const bodies = [];
  for (let n = first; n < first + count; n++) {
    const wallet = wallets[n % wallets.length];
    // The k-th use of a wallet is at baseMs - k: distinct per wallet, all inside the 5-minute window.
    const timestampInMs = baseMs - Math.floor(n / wallets.length);
    bodies.push(JSON.stringify({ signer: wallet.address, timestampInMs, signature: personalSign(wallet.secretKeyHex, String(timestampInMs)) }));
  }
  process.send({ bodies }, () => process.disconnect());
});
