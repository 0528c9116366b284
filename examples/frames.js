// SPDX-License-Identifier: MIT
// plugboxfilter example: called on every buffer of a GStreamer pipeline.
//   GST_PLUGIN_PATH=build gst-launch-1.0 -m videotestsrc num-buffers=30 ! \
//     plugboxfilter location=examples/frames.js time-limit=20 ! fakesink
// Drops every third frame, tags the others with JSON metadata for elements downstream, and
// posts a bus message every tenth frame. State (the counter) lives on between buffers.
var frames = 0;

function process(buffer) {
  frames++;
  if (frames % 3 === 0) return false;
  var result = { meta: { frame: frames, at: buffer.pts } };
  if (frames % 10 === 0)
    result.message = { frames: frames, size: buffer.caps.width + 'x' + buffer.caps.height };
  return result;
}
