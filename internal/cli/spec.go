package cli

import (
	"strings"

	"github.com/spf13/pflag"
)

// spec is one flag: everything lastcall knows of it, in one place. Its
// value is a string on the command line and in LASTCALL_<FLAG>, and goes
// through the same parser either way.
type spec struct {
	name  string
	def   string // the default text; "" means unset
	usage string // pflag's usage text; a `NAME` in it names the value
	want  string // the accepted form, said in usage errors
	// wantEnv is the accepted form in the variable, when it differs (the
	// variable of a repeatable flag is a comma-separated list).
	wantEnv string
	// noOptDef, when set, is the value of the flag given without one.
	noOptDef string
	// set parses one value into s; repeatable flags use setAll instead,
	// with every item given (or the variable, as one item).
	set    func(s *Settings, src source) error
	setAll func(s *Settings, items []source) error
}

// envName is the environment variable that backs a flag: grace -> LASTCALL_GRACE.
func envName(flag string) string {
	return "LASTCALL_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// source is where one setting's text came from, for error messages.
type source struct {
	text string
	env  string // the variable's name, or "" for the flag or its default
	spec *spec
}

// name is how a usage error names where a setting came from.
func (s source) name() string {
	if s.env != "" {
		return s.env
	}
	return "--" + s.spec.name
}

// register declares specs on fs. All are strings so that flag and env
// values go through the same parsers and the same error messages.
func register(fs *pflag.FlagSet, specs []spec) {
	for _, sp := range specs {
		if sp.setAll != nil {
			fs.StringArray(sp.name, nil, sp.usage)
		} else {
			fs.String(sp.name, sp.def, sp.usage)
		}
		if sp.noOptDef != "" {
			fs.Lookup(sp.name).NoOptDefVal = sp.noOptDef
		}
	}
}

// lookupSource returns a flag's text: the flag if given, else its variable
// if set and not empty (an empty variable counts as unset), else the
// default. A flag given with an empty value is a usage error: an unset
// variable in `--user=$APP_USER` must not quietly mean "no --user".
func lookupSource(fs *pflag.FlagSet, sp *spec, lookupEnv func(string) (string, bool)) (source, error) {
	f := fs.Lookup(sp.name)
	if f.Changed {
		if f.Value.String() == "" {
			return source{}, emptyValue(sp)
		}
		return source{text: f.Value.String(), spec: sp}, nil
	}
	if v, ok := lookupEnv(envName(sp.name)); ok && v != "" {
		return source{text: v, env: envName(sp.name), spec: sp}, nil
	}
	return source{text: sp.def, spec: sp}, nil
}

// lookupItems returns the items of a repeatable flag, or else its variable
// as one comma-separated item.
func lookupItems(fs *pflag.FlagSet, sp *spec, lookupEnv func(string) (string, bool)) ([]source, error) {
	var out []source
	if fs.Lookup(sp.name).Changed {
		items, _ := fs.GetStringArray(sp.name)
		for _, item := range items {
			if item == "" {
				return nil, emptyValue(sp)
			}
			out = append(out, source{text: item, spec: sp})
		}
		return out, nil
	}
	if v, ok := lookupEnv(envName(sp.name)); ok && v != "" {
		out = append(out, source{text: v, env: envName(sp.name), spec: sp})
	}
	return out, nil
}

// apply resolves every spec into s, in the table's order.
func apply(s *Settings, fs *pflag.FlagSet, specs []spec, lookupEnv func(string) (string, bool)) error {
	for i := range specs {
		sp := &specs[i]
		if sp.setAll != nil {
			items, err := lookupItems(fs, sp, lookupEnv)
			if err == nil {
				err = sp.setAll(s, items)
			}
			if err != nil {
				return err
			}
			continue
		}
		src, err := lookupSource(fs, sp, lookupEnv)
		if err != nil {
			return err
		}
		if src.text == "" {
			continue // unset, and no default
		}
		if err := sp.set(s, src); err != nil {
			return err
		}
	}
	return nil
}

// find is the spec named name, or nil.
func find(specs []spec, name string) *spec {
	for i := range specs {
		if specs[i].name == name {
			return &specs[i]
		}
	}
	return nil
}
