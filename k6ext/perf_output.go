package main

// `--out perf=<file>[.gz]`: every k6 sample, with its tags, in fixed-size binary records.
//
// Why: k6's CSV output formats each sample as text (fmt.Sprintf of the value, a map of its
// tags, a string of the extra tags), which at saturation costs k6 ~12 % more CPU per request
// than no output at all; these records cost nothing measurable (bench/k6-output-cost.ts).
// Metrics and tag sets are written once, when first seen, and samples refer to them by id.
// k6 interns tag sets, so a tag set is recognised by its pointer, without reading its tags.
//
// Format (little-endian), read by analysis/k6-bin.ts:
//   header  "PERFK6S1\n"
//   'M' u16 id, u8 type (0 counter, 1 gauge, 2 rate, 3 trend), u16 length, name
//   'T' u32 id, u32 length, tags as key 0x00 value 0x00 ...
//   'S' u16 metric id, u32 tag set id, u32 unix seconds, u32 nanoseconds within the
//       second, f64 value (seconds and nanoseconds apart: JavaScript reads them exactly)
// Sample metadata (vu, iter) is left out, as perf's analysis does not use it.

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"go.k6.io/k6/v2/ext"
	"go.k6.io/k6/v2/metrics"
	"go.k6.io/k6/v2/output"
)

func init() {
	ext.Register("perf", ext.OutputExtension, output.Constructor(newPerfOutput))
}

const header = "PERFK6S1\n"

type perfOutput struct {
	output.SampleBuffer

	fname   string
	file    *os.File
	gz      *gzip.Writer
	w       *bufio.Writer
	flusher *output.PeriodicFlusher
	metrics map[*metrics.Metric]uint16
	tagSets map[*metrics.TagSet]uint32
	rec     [23]byte
	err     error
}

func newPerfOutput(p output.Params) (output.Output, error) {
	if p.ConfigArgument == "" {
		return nil, fmt.Errorf("the perf output needs a file name: --out perf=<file>")
	}
	return &perfOutput{fname: p.ConfigArgument, metrics: map[*metrics.Metric]uint16{}, tagSets: map[*metrics.TagSet]uint32{}}, nil
}

func (o *perfOutput) Description() string { return "perf (" + o.fname + ")" }

func (o *perfOutput) Start() error {
	f, err := os.Create(o.fname)
	if err != nil {
		return err
	}
	o.file = f
	var dst io.Writer = f
	if strings.HasSuffix(o.fname, ".gz") {
		// Long runs: bounded disk, at the cheapest level (the records compress well anyway).
		o.gz, _ = gzip.NewWriterLevel(f, gzip.BestSpeed)
		dst = o.gz
	}
	o.w = bufio.NewWriterSize(dst, 1<<20)
	o.w.WriteString(header)
	pf, err := output.NewPeriodicFlusher(time.Second, o.flush)
	if err != nil {
		return err
	}
	o.flusher = pf
	return nil
}

func (o *perfOutput) Stop() error {
	o.flusher.Stop()
	err := o.w.Flush()
	if o.gz != nil {
		if e := o.gz.Close(); err == nil {
			err = e
		}
	}
	if e := o.file.Close(); err == nil {
		err = e
	}
	if o.err != nil {
		return o.err
	}
	return err
}

func metricType(t metrics.MetricType) byte {
	switch t {
	case metrics.Counter:
		return 0
	case metrics.Gauge:
		return 1
	case metrics.Rate:
		return 2
	default:
		return 3
	}
}

func (o *perfOutput) metricID(m *metrics.Metric) uint16 {
	if id, ok := o.metrics[m]; ok {
		return id
	}
	id := uint16(len(o.metrics) + 1)
	o.metrics[m] = id
	var b [6]byte
	b[0] = 'M'
	binary.LittleEndian.PutUint16(b[1:], id)
	b[3] = metricType(m.Type)
	binary.LittleEndian.PutUint16(b[4:], uint16(len(m.Name)))
	o.w.Write(b[:])
	o.w.WriteString(m.Name)
	return id
}

func (o *perfOutput) tagSetID(t *metrics.TagSet) uint32 {
	if id, ok := o.tagSets[t]; ok {
		return id
	}
	id := uint32(len(o.tagSets) + 1)
	o.tagSets[t] = id
	tags := t.Map()
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var body strings.Builder
	for _, k := range keys {
		body.WriteString(k)
		body.WriteByte(0)
		body.WriteString(tags[k])
		body.WriteByte(0)
	}
	var b [9]byte
	b[0] = 'T'
	binary.LittleEndian.PutUint32(b[1:], id)
	binary.LittleEndian.PutUint32(b[5:], uint32(body.Len()))
	o.w.Write(b[:])
	o.w.WriteString(body.String())
	return id
}

func (o *perfOutput) flush() {
	for _, sc := range o.GetBufferedSamples() {
		for _, s := range sc.GetSamples() {
			m := o.metricID(s.Metric)
			t := o.tagSetID(s.Tags)
			o.rec[0] = 'S'
			binary.LittleEndian.PutUint16(o.rec[1:], m)
			binary.LittleEndian.PutUint32(o.rec[3:], t)
			binary.LittleEndian.PutUint32(o.rec[7:], uint32(s.Time.Unix()))
			binary.LittleEndian.PutUint32(o.rec[11:], uint32(s.Time.Nanosecond()))
			binary.LittleEndian.PutUint64(o.rec[15:], math.Float64bits(s.Value))
			if _, err := o.w.Write(o.rec[:]); err != nil && o.err == nil {
				o.err = err
			}
		}
	}
	// Whole records reach the file each second, so a k6 that dies leaves a readable file.
	if err := o.w.Flush(); err != nil && o.err == nil {
		o.err = err
	}
}
