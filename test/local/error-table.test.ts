/**
 * The emulator's ECR error codes are written once, in the service core's table (`local/service/errors.ts`): each code
 * with its status and its wording. Every error the emulator builds takes its wording from the table.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ECR_ERRORS, ecrError, EcrErrorCode } from '../../local/service/errors';

const LOCAL = path.join(__dirname, '..', '..', 'local');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

test('every error built outside the table takes its message from the table', () => {
  const free: string[] = [];
  let built = 0;
  for (const file of sources(LOCAL)) {
    if (file === path.join(LOCAL, 'service', 'errors.ts')) continue;
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/new (EcrPublicError|ReferencesNotFoundError)\(\s*'(\w+)',\s*([^,)]+)/g)) {
      built++;
      if (!m[3].trim().startsWith('ecrMessage(')) free.push(`${path.relative(LOCAL, file)}: ${m[0]}`);
    }
  }
  expect(built).toBeGreaterThan(0);
  expect(free).toEqual([]);
});

test('every modelled client error is 400; the server fault 500, the length refusal 411, the slow-body refusal 408', () => {
  const statuses = Object.fromEntries((Object.keys(ECR_ERRORS) as EcrErrorCode[])
    .map((code) => [code, (ECR_ERRORS[code] as { status?: number }).status ?? 400]));
  const others = Object.entries(statuses).filter(([code]) => !['ServerException', 'LengthRequiredException', 'RequestTimeoutException', 'InvalidSignatureException', 'UnrecognizedClientException'].includes(code));
  expect(others.every(([, status]) => status === 400)).toBe(true);
  expect([statuses.ServerException, statuses.LengthRequiredException, statuses.RequestTimeoutException]).toEqual([500, 411, 408]);
  expect([statuses.InvalidSignatureException, statuses.UnrecognizedClientException]).toEqual([403, 403]);
  expect(ecrError('ServerException', 'injected').status).toBe(500);
});

test('an error carries its code as its name and the table\'s wording as its message', () => {
  const err = ecrError('RepositoryNotFoundException', 'acme/web', '123456789012');
  expect([err.name, err.code, err.status]).toEqual(['RepositoryNotFoundException', 'RepositoryNotFoundException', 400]);
  expect(err.message).toBe("The repository with name 'acme/web' does not exist in the registry with id '123456789012'");
});
