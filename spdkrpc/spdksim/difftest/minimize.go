package difftest

import "context"

// Minimize shrinks script, a sequence whose last step fails on the real
// target (reproduces), to a shorter one that still does, by removing
// chunks of steps while the failure persists. reproduces gets a fresh
// target for each try. Steps that name objects by UUID token may name
// others once earlier steps are gone; the result is a lead, not a proof.
func Minimize(ctx context.Context, script []Step, reproduces func(context.Context, []Step) (bool, error)) ([]Step, error) {
	cur := script
	for chunk := len(cur) / 2; chunk >= 1; chunk /= 2 {
		for start := 0; start+chunk < len(cur); {
			if err := ctx.Err(); err != nil {
				return cur, err
			}
			try := append(append([]Step{}, cur[:start]...), cur[start+chunk:]...)
			ok, err := reproduces(ctx, try)
			if err != nil {
				return cur, err
			}
			if ok {
				cur = try
				continue
			}
			start += chunk
		}
	}
	return cur, nil
}
