import test from 'ava';
import { FrameDecoder, FrameType, encodeFrame, frameHeader, joinAdjacent } from '../../src/protocol/frames.js';

test('views side by side in one buffer are joined without a copy; others stay apart, empty ones go', (t) => {
  const block = Buffer.from('abcdefgh');
  const other = Buffer.from('xy');
  const joined = joinAdjacent([block.subarray(0, 2), block.subarray(2, 5), Buffer.alloc(0), block.subarray(5, 6), other, block.subarray(7, 8)]);
  t.deepEqual(joined.map((b) => b.toString()), ['abcdef', 'xy', 'h']);
  t.is(joined[0]!.buffer, block.buffer, 'a view of the same memory, not a copy');
  t.is(joined[0]!.byteOffset, block.byteOffset);
});

test('a frame sent as header and parts decodes as the frame encoded whole', (t) => {
  const payload = [Buffer.from('hello '), Buffer.from('world')];
  const parts = Buffer.concat([frameHeader(FrameType.Data, 7, 11), ...payload]);
  const [frame] = new FrameDecoder(false).push(parts);
  t.like(frame, { type: FrameType.Data, id: 7 });
  t.is(frame!.payload.toString(), 'hello world');
  t.true(parts.equals(encodeFrame(FrameType.Data, 7, Buffer.from('hello world'))));
});
