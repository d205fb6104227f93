// SPDX-License-Identifier: Apache-2.0

package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Problems is every problem found while loading and validating a
// configuration, reported together.
type Problems []string

func (p Problems) Error() string {
	if len(p) == 1 {
		return "config: " + p[0]
	}
	return fmt.Sprintf("config: %d problems:\n  - %s", len(p), strings.Join(p, "\n  - "))
}

// setting is one leaf of Config reached by reflection: its YAML path, the
// variable and flag that set it, and where it lives.
type setting struct {
	path string // "session.idle_timeout"
	env  string // "KOBAN_SESSION_IDLE_TIMEOUT"
	flag string // "session.idle-timeout"
	help string
	v    reflect.Value
}

// settings lists the leaves of c in declaration order.
func settings(c *Config) []setting {
	var out []setting
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			path := name
			if prefix != "" {
				path = prefix + "." + name
			}
			fv := v.Field(i)
			if f.Type.Kind() == reflect.Struct {
				walk(fv, path)
				continue
			}
			if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct {
				continue // lists of records are set in the file only
			}
			out = append(out, setting{
				path: path,
				env:  "KOBAN_" + strings.ToUpper(strings.ReplaceAll(path, ".", "_")),
				flag: strings.ReplaceAll(path, "_", "-"),
				help: f.Tag.Get("help"),
				v:    fv,
			})
		}
	}
	walk(reflect.ValueOf(c).Elem(), "")
	return out
}

// set parses text into a leaf. Lists are comma-separated.
func (s setting) set(text string) error {
	switch p := s.v.Addr().Interface().(type) {
	case *string:
		*p = text
	case *Secret:
		*p = Secret(text)
	case *Duration:
		d, err := parseDuration(text)
		if err != nil {
			return err
		}
		*p = d
	case *int:
		n, err := strconv.Atoi(text)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", text)
		}
		*p = n
	case *int64:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", text)
		}
		*p = n
	case *bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return fmt.Errorf("%q is not true or false", text)
		}
		*p = b
	case *[]string:
		*p = nil
		for _, item := range strings.Split(text, ",") {
			if item = strings.TrimSpace(item); item != "" {
				*p = append(*p, item)
			}
		}
	default:
		return fmt.Errorf("unsupported setting type %s", s.v.Type())
	}
	return nil
}

// Flags holds the configuration flags of a subcommand until Load applies
// them after the file and the environment.
type Flags struct {
	file   string
	values map[string]string // flag name → text, in the order given
	order  []string
}

type flagValue struct {
	f    *Flags
	name string
}

func (v flagValue) String() string { return "" }
func (v flagValue) Set(s string) error {
	if _, seen := v.f.values[v.name]; !seen {
		v.f.order = append(v.f.order, v.name)
	}
	v.f.values[v.name] = s
	return nil
}

// AddFlags registers --config and one flag per setting on fs.
func AddFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{values: map[string]string{}}
	fs.StringVar(&f.file, "config", "", "YAML configuration file (also KOBAN_CONFIG)")
	c := Default()
	for _, s := range settings(&c) {
		help := s.help
		if def := fmt.Sprint(s.v.Interface()); def != "" && def != "0" && def != "[]" {
			help += " (default " + def + ")"
		}
		fs.Var(flagValue{f, s.flag}, s.flag, help+" ["+s.env+"]")
	}
	return f
}

// File returns the configuration file named by --config or KOBAN_CONFIG.
func (f *Flags) File(getenv func(string) string) string {
	if f != nil && f.file != "" {
		return f.file
	}
	return getenv("KOBAN_CONFIG")
}

// Load builds the configuration: defaults, then the YAML file, then KOBAN_*
// variables (a secret may come from the file named by its *_FILE variable),
// then flags; then it validates. All problems come back together as Problems.
func (f *Flags) Load(getenv func(string) string) (Config, error) {
	c := Default()
	var probs Problems
	if path := f.File(getenv); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			probs = append(probs, fmt.Sprintf("cannot read configuration file: %v", err))
		} else {
			probs = append(probs, decodeYAML(path, b, &c)...)
		}
	}
	for _, s := range settings(&c) {
		if _, isSecret := s.v.Interface().(Secret); isSecret {
			if path := getenv(s.env + "_FILE"); path != "" {
				b, err := os.ReadFile(path)
				if err != nil {
					probs = append(probs, fmt.Sprintf("%s_FILE: cannot read secret file: %v", s.env, err))
				} else {
					_ = s.set(strings.TrimRight(string(b), "\r\n")) // a Secret accepts any text
				}
			}
		}
		if text := getenv(s.env); text != "" {
			if err := s.set(text); err != nil {
				probs = append(probs, fmt.Sprintf("%s: %v", s.env, err))
			}
		}
	}
	if f != nil {
		byFlag := map[string]setting{}
		for _, s := range settings(&c) {
			byFlag[s.flag] = s
		}
		for _, name := range f.order {
			if err := byFlag[name].set(f.values[name]); err != nil {
				probs = append(probs, fmt.Sprintf("--%s: %v", name, err))
			}
		}
	}
	if err := c.Validate(); err != nil {
		var vp Problems
		if errors.As(err, &vp) {
			probs = append(probs, vp...)
		} else {
			probs = append(probs, err.Error())
		}
	}
	if len(probs) > 0 {
		return c, probs
	}
	return c, nil
}

// decodeYAML applies a YAML document to c, refusing unknown keys, and returns
// every problem with its file and line.
func decodeYAML(path string, b []byte, c *Config) Problems {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	err := dec.Decode(c)
	if err == nil || errors.Is(err, io.EOF) { // an empty file is an empty document
		return nil
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var p Problems
		for _, e := range te.Errors {
			p = append(p, path+": "+strings.TrimPrefix(e, "yaml: "))
		}
		return p
	}
	return Problems{path + ": " + strings.TrimPrefix(err.Error(), "yaml: ")}
}

// Dump renders c as YAML with secrets masked.
func Dump(c Config) ([]byte, error) {
	return yaml.Marshal(c)
}
