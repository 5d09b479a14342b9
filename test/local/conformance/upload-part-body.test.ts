import { CompleteLayerUploadCommand, InitiateLayerUploadCommand } from '@aws-sdk/client-ecr-public';
import { createRepo, expectRawError, MIB, rawCall, randomBytes, sha256, useEmulator } from './support';
import { parseUploadPartBody } from '../../../local/api/upload-part-body';

describe('reading UploadLayerPart bodies from the bytes', () => {
  const blob = randomBytes(3000).toString('base64');
  const long = randomBytes(300_000).toString('base64');
  const plain = [
    `{"repositoryName":"a/b","uploadId":"u","partFirstByte":0,"partLastByte":2999,"layerPartBlob":"${blob}"}`,
    ` {\n "layerPartBlob" : "${blob}" ,\t"partFirstByte": 1e3, "ok": true, "none": null, "n": -0.5 }\r\n`,
    '{"layerPartBlob":"","x":"\u00e9t\u00e9"}',
    // Longer than one decoded slice, with either padding.
    `{"layerPartBlob":"${randomBytes(400_000).toString('base64')}"}`,
    `{"layerPartBlob":"${randomBytes(400_001).toString('base64')}"}`,
  ];
  test.each(plain)('a plain body gives what JSON.parse gives, the blob decoded (%#)', (text) => {
    const { layerPartBlob: base64, ...members } = JSON.parse(text);
    const { layerPartBlob: bytes, ...parsedMembers } = parseUploadPartBody(Buffer.from(text))!;
    expect(parsedMembers).toEqual(members);
    expect(Buffer.isBuffer(bytes)).toBe(true);
    // Compared as base64 text (jest's deep equality of large buffers is slow): the very bytes the string encodes.
    expect((bytes as Buffer).toString('base64')).toBe(base64);
    expect((bytes as Buffer).length).toBe(Buffer.from(base64, 'base64').length);
  });

  const declined = [
    `{"layerPartBlob":"${blob.slice(0, 8)}\\/${blob.slice(8)}"}`, // an escape in the blob
    `{"repositoryName":"a\\"b","layerPartBlob":"${blob}"}`, // an escape elsewhere
    `{"layerPartBlob":"${blob}","layerPartBlob":"${blob}"}`, // the blob twice
    `{"nested":{"a":1},"layerPartBlob":"${blob}"}`,
    `{"layerPartBlob":"${blob}"`, // unterminated
    `{"layerPartBlob":"${blob}"} trailing`,
    `{"layerPartBlob":"${blob}",}`,
    `{"layerPartBlob":"${blob}","n":01}`, // not a JSON number
    `{"layerPartBlob":"${blob}`,
    '["layerPartBlob"]',
    '{"partFirstByte":0}', // no blob
    // A blob that is not standard base64 (the ordinary reading refuses it): in the first slice, deep in a later one,
    // padding inside, a length that is not a multiple of 4, a raw line break.
    '{"layerPartBlob":"not base64 at all!"}',
    `{"layerPartBlob":"${long.slice(0, 200_000)}*AAA"}`,
    `{"layerPartBlob":"${long.slice(0, 200_000)}==AA${blob}"}`,
    `{"layerPartBlob":"${blob}A"}`,
    `{"layerPartBlob":"${blob.slice(0, 400)}\n${blob.slice(401)}"}`,
    '',
    '{',
  ];
  test.each(declined)('anything else is left to JSON.parse (%#)', (text) => {
    expect(parseUploadPartBody(Buffer.from(text))).toBeUndefined();
  });
});

describe('UploadLayerPart bodies through the emulator', () => {
  const h = useEmulator();

  test('an escaped blob (read the ordinary way) and plain ones make the same layer', async () => {
    const name = await createRepo(h.client);
    const data = randomBytes(5 * MIB + 7);
    const { uploadId } = await h.client.send(new InitiateLayerUploadCommand({ repositoryName: name }));
    const head = data.subarray(0, 5 * MIB).toString('base64');
    const escaped = `{"repositoryName":"${name}","uploadId":"${uploadId}","partFirstByte":0,"partLastByte":${5 * MIB - 1},`
      + `"layerPartBlob":"${head.replace(/\//g, '\\/')}"}`;
    const first = await rawCall(h.emu, 'UploadLayerPart', { body: escaped });
    expect(first.status).toBe(200);
    const second = await rawCall(h.emu, 'UploadLayerPart', {
      body: `{ "layerPartBlob": "${data.subarray(5 * MIB).toString('base64')}", "repositoryName": "${name}", `
        + `"uploadId": "${uploadId}", "partFirstByte": ${5 * MIB}, "partLastByte": ${5 * MIB + 6} }`,
    });
    expect({ status: second.status, last: second.json.lastByteReceived }).toEqual({ status: 200, last: 5 * MIB + 6 });
    const done = await h.client.send(new CompleteLayerUploadCommand({ repositoryName: name, uploadId, layerDigests: [sha256(data)] }));
    expect(done.layerDigest).toBe(sha256(data));
  });

  test('a blob that is not base64, and a body that is not JSON, are SerializationException', async () => {
    const name = await createRepo(h.client);
    const { uploadId } = await h.client.send(new InitiateLayerUploadCommand({ repositoryName: name }));
    const members = `"repositoryName":"${name}","uploadId":"${uploadId}","partFirstByte":0,"partLastByte":2`;
    expectRawError(await rawCall(h.emu, 'UploadLayerPart', { body: `{${members},"layerPartBlob":"ab*d"}` }), 'SerializationException');
    expectRawError(await rawCall(h.emu, 'UploadLayerPart', { body: `{${members},"layerPartBlob":"abcd"` }), 'SerializationException');
    // A character outside the alphabet far into a long blob (past the first slice the reader decodes).
    const long = `${randomBytes(300_000).toString('base64')}`;
    const bad = `${long.slice(0, 250_000)}*${long.slice(250_001)}`;
    const far = `"repositoryName":"${name}","uploadId":"${uploadId}","partFirstByte":0,"partLastByte":299999`;
    expectRawError(await rawCall(h.emu, 'UploadLayerPart', { body: `{${far},"layerPartBlob":"${bad}"}` }), 'SerializationException');
  });
});
