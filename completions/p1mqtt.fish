function __p1mqtt_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __p1mqtt_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __p1mqtt_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __p1mqtt_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __p1mqtt_parse_tokens -S
    set -l unparsed_tokens (__p1mqtt_tokens -pc)
    switch $unparsed_tokens[1]
    case 'p1mqtt'
        __p1mqtt_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'run'
            __p1mqtt_parse_subcommand 0 'config=' 'broker=' 'username=' 'password-file=' 'base-topic=' 'discovery-prefix=' 'no-discovery' 'source=' 'key=' 'variant=' 'rate=' 'min-interval=' 'watchdog=' 'exit-at-end' 'loop' 'http=' 'data-dir=' 'log-level=' 'version' 'h/help'
        case 'check-config'
            __p1mqtt_parse_subcommand 0 'config=' 'version' 'h/help'
        case 'parse'
            __p1mqtt_parse_subcommand 1 'key=' 'auth-key=' 'no-verify-tag' 'variant=' '7e1' 'verbose' 'version' 'h/help'
        case 'probe'
            __p1mqtt_parse_subcommand 1 'seconds=' 'key=' 'version' 'h/help'
        case 'discovery'
            __p1mqtt_parse_subcommand 1 'print' 'config=' 'key=' 'version' 'h/help'
        case 'simulate'
            __p1mqtt_parse_subcommand 0 'stdout' 'listen=' 'count=' 'interval=' 'step=' 'start=' 'seed=' 'key=' 'profile=' 'version' 'h/help'
        case 'topics'
            __p1mqtt_parse_subcommand -r 1 'base-topic=' 'version' 'h/help'
        case 'history'
            __p1mqtt_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'export'
                __p1mqtt_parse_subcommand 0 'data-dir=' 'period=' 'format=' 'from=' 'to=' 'version' 'h/help'
            end
        case 'bench'
            __p1mqtt_parse_subcommand -r 1 'seconds=' 'iterations=' 'key=' 'version' 'h/help'
        case 'help'
            __p1mqtt_parse_subcommand -r 1 'version'
        end
    end
end

function __p1mqtt_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __p1mqtt_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __p1mqtt_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __p1mqtt_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__p1mqtt_tokens -p)
    if test -z "$(__p1mqtt_tokens -t)"
        set -l index (count (__p1mqtt_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'p1mqtt' -f
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt" version' -l 'version' -d 'Show the version.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_positional "p1mqtt" -eq 1' -fa 'run' -d 'Read telegrams from a meter (or the simulator) and publish every reading to MQTT.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_positional "p1mqtt" -eq 1' -fa 'check-config' -d 'Check a configuration file and print the effective settings (secrets masked).'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_positional "p1mqtt" -eq 1' -fa 'parse' -d 'Print every telegram found in a file or standard input as one JSON object per line.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_positional "p1mqtt" -eq 1' -fa 'probe' -d 'Check a P1 cable or network dongle: which line settings work, which meter it is, what is wrong.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_positional "p1mqtt" -eq 1' -fa 'discovery' -d 'Print the Home Assistant discovery messages that would be published for a telegram.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_positional "p1mqtt" -eq 1' -fa 'simulate' -d 'Write telegrams of the built-in simulated meter to standard output, or serve them over TCP.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_positional "p1mqtt" -eq 1' -fa 'topics' -d 'Print the table of every topic p1mqtt can publish (Markdown), with example payloads.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_positional "p1mqtt" -eq 1' -fa 'history' -d 'Work with the local history (hours, days, months) that p1mqtt keeps in its data directory.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_positional "p1mqtt" -eq 1' -fa 'bench' -d 'Measure how many telegrams per second the engine frames, checks and parses (use a release build).'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_positional "p1mqtt" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt run" config' -l 'config' -d 'Configuration file (JSON).' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt run" broker' -l 'broker' -d 'The broker, HOST[:PORT] (default localhost:1883), or none to run without MQTT.' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt run" username' -l 'username' -d 'MQTT user name.' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt run" password-file' -l 'password-file' -d 'File holding the MQTT password (keeps it out of ps output).' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt run" base-topic' -l 'base-topic' -d 'Base topic (default p1mqtt).' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt run" discovery-prefix' -l 'discovery-prefix' -d 'Home Assistant discovery prefix (default homeassistant).' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt run" no-discovery' -l 'no-discovery' -d 'Do not publish Home Assistant discovery messages.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt run" source' -l 'source' -d 'Where telegrams come from (see above; default: the configuration\'s, else the simulator).' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt run" key' -l 'key' -d 'Decryption key (32 hex digits) for encrypted meters.' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt run" variant' -l 'variant' -d 'Meter variant instead of detecting it.' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt run" rate' -l 'rate' -d 'Replay pace for files: max, meter (the telegrams\' own pace) or seconds.' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt run" min-interval' -l 'min-interval' -d 'Minimum seconds between publications of each value (power is averaged).' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt run" watchdog' -l 'watchdog' -d 'Reconnect a network source after this many seconds without data (default 60).' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt run" exit-at-end' -l 'exit-at-end' -d 'Exit when a replayed file ends instead of staying connected.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt run" loop' -l 'loop' -d 'Replay the file again from the start whenever it ends (the register guard withholds the jump back to the first values until it has seen them ten times).'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt run" http' -l 'http' -d 'Serve the local web page and API on HOST:PORT, e.g. 127.0.0.1:8080.' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt run" data-dir' -l 'data-dir' -d 'Keep the local history (hours, days, months) in this directory.' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt run" log-level' -l 'log-level' -d 'Log level: trace, debug, info, notice, warning, error.' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt run" version' -l 'version' -d 'Show the version.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt run" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt check-config" config' -l 'config' -d 'Configuration file (JSON); without it the defaults are shown.' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt check-config" version' -l 'version' -d 'Show the version.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt check-config" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt parse" key' -l 'key' -d 'Decryption key (32 hex digits) for encrypted meters (Luxembourg, Austria).' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt parse" auth-key' -l 'auth-key' -d 'Authentication key (32 hex digits); default: the public Smarty key.' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt parse" no-verify-tag' -l 'no-verify-tag' -d 'Decrypt without checking the authentication tag (the telegram\'s CRC still protects it).'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt parse" variant' -l 'variant' -d 'Meter variant instead of detecting it: dsmr3, dsmr4, dsmr5, belgium, luxembourg, sweden, q3d, eon_hungary, austria, iskra_ie, unknown.' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt parse" 7e1' -l '7e1' -d 'Clear the parity bit of every byte (a 7E1 line read as 8N1).'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt parse" verbose' -l 'verbose' -d 'Print every rejection on standard error, not only the first of each kind.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt parse" version' -l 'version' -d 'Show the version.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt parse" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt probe" seconds' -l 'seconds' -d 'Seconds to listen with each line setting (a DSMR 4 meter sends every 10 s).' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt probe" key' -l 'key' -d 'Decryption key (32 hex digits) for encrypted meters (Luxembourg, Austria).' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt probe" version' -l 'version' -d 'Show the version.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt probe" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt discovery" print' -l 'print' -d 'Print the messages (the only action so far).'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt discovery" config' -l 'config' -d 'Configuration file (JSON).' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt discovery" key' -l 'key' -d 'Decryption key for encrypted telegrams.' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt discovery" version' -l 'version' -d 'Show the version.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt discovery" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt simulate" stdout' -l 'stdout' -d 'Write the telegrams to standard output.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt simulate" listen' -l 'listen' -d 'Serve the telegrams over TCP on PORT or HOST:PORT (host 127.0.0.1 unless given; 0.0.0.0 for every interface).' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt simulate" count' -l 'count' -d 'How many telegrams (default: no end).' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt simulate" interval' -l 'interval' -d 'Seconds to wait between telegrams (0: as fast as possible).' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt simulate" step' -l 'step' -d 'Seconds the meter clock advances per telegram (default: the interval, or 1 when it is 0).' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt simulate" start' -l 'start' -d 'Meter clock of the first telegram, Unix seconds (default: now).' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt simulate" seed' -l 'seed' -d 'Random seed.' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt simulate" key' -l 'key' -d 'Encrypt every telegram with this key (32 hex digits), as Luxembourg and Austrian meters do.' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt simulate" profile' -l 'profile' -d 'Profile: dsmr5, belgium, luxembourg, dsmr22.' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt simulate" version' -l 'version' -d 'Show the version.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt simulate" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt topics" base-topic' -l 'base-topic' -d 'Base topic.' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt topics" version' -l 'version' -d 'Show the version.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt topics" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt history" version' -l 'version' -d 'Show the version.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt history" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_positional "p1mqtt history" -eq 1' -fa 'export' -d 'Print the history as CSV or JSON.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt history export" data-dir' -l 'data-dir' -d 'The directory p1mqtt keeps its history in (as given to p1mqtt run).' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt history export" period' -l 'period' -d 'Which periods: hours, days, months or all.' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt history export" format' -l 'format' -d 'Output format: csv or json.' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt history export" from' -l 'from' -d 'Only periods starting at or after this date/time.' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt history export" to' -l 'to' -d 'Only periods starting before this date/time (a date alone includes the day).' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt history export" version' -l 'version' -d 'Show the version.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt history export" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt bench" seconds' -l 'seconds' -d 'Seconds to measure each file.' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt bench" iterations' -l 'iterations' -d 'Feed each file exactly this many times instead of for a fixed time (for instruction counts).' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt bench" key' -l 'key' -d 'Decryption key for encrypted frames.' -rfka ''
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt bench" version' -l 'version' -d 'Show the version.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt bench" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'p1mqtt' -n '__p1mqtt_should_offer_completions_for_flags_or_options "p1mqtt help" version' -l 'version' -d 'Show the version.'
