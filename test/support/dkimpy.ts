import { spawn, spawnSync } from 'node:child_process';

/**
 * dkimpy (Debian's python3-dkim, the library behind /usr/bin/dkimverify) as an independent
 * DKIM verifier. dkimverify itself has no option for the DNS server: it asks the system
 * resolver, which the tests must never reach. So this runs the same library call,
 * `dkim.DKIM(message).verify(idx, dnsfunc)`, with a dnsfunc that asks our local DNS server
 * through dnspython (which python3-dkim depends on).
 */
const PYTHON = '/usr/bin/python3';

const SCRIPT = `
import json, sys
import dkim, dns.resolver, dns.rdatatype
port = int(sys.argv[1])
resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = ['127.0.0.1']
resolver.port = port
def dnsfunc(name, timeout=5):
    try:
        answer = resolver.resolve(name.decode('ascii').rstrip('.'), 'TXT', raise_on_no_answer=False, lifetime=timeout)
    except dns.resolver.NXDOMAIN:
        return None
    for rrset in answer.response.answer:
        if rrset.rdtype == dns.rdatatype.TXT:
            return b''.join(list(rrset.items)[0].strings)
    return None
message = sys.stdin.buffer.read()
count = sum(1 for name, _ in dkim.DKIM(message).headers if name.lower() == b'dkim-signature')
results = []
for index in range(count):
    try:
        results.append({'index': index, 'ok': bool(dkim.DKIM(message).verify(idx=index, dnsfunc=dnsfunc)), 'error': None})
    except Exception as err:
        results.append({'index': index, 'ok': False, 'error': repr(err)})
print(json.dumps(results))
`;

/** Why dkimpy cannot run here, or undefined when it can. */
export function dkimpyUnavailable(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import dkim, dns.resolver, nacl'], { encoding: 'utf8' });
  if (probe.error) return `${PYTHON} is not installed (${probe.error.message})`;
  if (probe.status !== 0) return `python3-dkim (with dnspython and pynacl) is not installed: ${probe.stderr.trim().split('\n').pop()}`;
  return undefined;
}

export interface DkimpyResult {
  /** Position of the DKIM-Signature field, from the top. */
  index: number;
  ok: boolean;
  error: string | null;
}

/** Verifies every DKIM-Signature of the message, looking keys up on the DNS server at 127.0.0.1:dnsPort. */
export function dkimpyVerify(message: Buffer, dnsPort: number): Promise<DkimpyResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-c', SCRIPT, String(dnsPort)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`dkimpy exited with ${code}: ${stderr}`));
      resolve(JSON.parse(stdout) as DkimpyResult[]);
    });
    child.stdin.end(message);
  });
}
